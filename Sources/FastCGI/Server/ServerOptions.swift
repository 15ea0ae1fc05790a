/// The command-line flags every FastCGI program of this package takes, read into a server
/// configuration, plus any flags of the program's own.
///
/// `--listen unix:PATH|HOST:PORT|[IPV6]:PORT`, `--socket-mode OCTAL`, `--workers N`,
/// `--processes P`, `--max-requests N`, `--max-body BYTES`, `--max-form-fields N`,
/// `--read-timeout SECONDS`, `--write-timeout SECONDS`, `--request-timeout SECONDS`,
/// `--trust-forwarded-proto`. Each takes `--flag value` or `--flag=value`.
///
/// ```swift
/// let options = try ServerOptions(CommandLine.arguments.dropFirst(), programFlags: ["--sessions"])
/// let directory = options.programValues["--sessions"] ?? "/tmp/sessions"
/// try FastCGIServer(configuration: options.configuration).run(app)
/// ```
public struct ServerOptions: Sendable {
    /// The server configuration the flags describe.
    public var configuration: FastCGIServer.Configuration
    /// The values of the program's own flags, by flag (`--sessions`).
    public var programValues: [String: String] = [:]

    /// Reads `arguments` (without the program name).
    ///
    /// Throws ``ServerError`` with code ``ServerError/Code/invalidArgument`` for an unknown flag,
    /// a missing value or a value that does not parse.
    ///
    /// ```swift
    /// let options = try ServerOptions(["--listen", "127.0.0.1:9000", "--workers", "4"])
    /// ```
    public init(_ arguments: some Sequence<String>, programFlags: Set<String> = []) throws(ServerError) {
        configuration = FastCGIServer.Configuration()
        var socketMode: UInt32?
        var iterator = arguments.makeIterator()
        while let argument = iterator.next() {
            var flag = argument
            var value: String?
            if let equals = argument.firstIndex(of: "="), argument.hasPrefix("--") {
                flag = String(argument[..<equals])
                value = String(argument[argument.index(after: equals)...])
            }
            func required() throws(ServerError) -> String {
                if let value { return value }
                guard let next = iterator.next() else { throw ServerError(.invalidArgument, "\(flag) needs a value") }
                return next
            }
            func number(in range: ClosedRange<Int>, of unit: String? = nil) throws(ServerError) -> Int {
                let text = try required()
                guard let number = Int(text), range.contains(number) else {
                    let what = unit.map { "a number of \($0)" } ?? "a number"
                    throw ServerError(.invalidArgument, "\(flag) wants \(what) from \(range.lowerBound) to \(range.upperBound), not \(text)")
                }
                return number
            }
            switch flag {
            case "--listen":
                configuration.listen = try ListenAddress(try required())
            case "--socket-mode":
                let text = try required()
                guard let mode = UInt32(text, radix: 8), mode <= 0o777 else {
                    throw ServerError(.invalidArgument, "--socket-mode wants octal permissions such as 660, not \(text)")
                }
                socketMode = mode
            case "--workers":
                configuration.workers = try number(in: 1...1024)
            case "--processes":
                configuration.processes = try number(in: 1...256)
            case "--max-requests":
                let text = try required()
                guard let requests = Int(text), requests >= 1 else {
                    throw ServerError(.invalidArgument, "--max-requests wants a number of requests, not \(text)")
                }
                configuration.maxRequests = requests
            case "--max-body":
                let text = try required()
                guard let bytes = Int(text), bytes >= 0 else {
                    throw ServerError(.invalidArgument, "--max-body wants a number of bytes, not \(text)")
                }
                configuration.maxBodySize = bytes
            case "--max-form-fields":
                configuration.maxFormFields = try number(in: 1...1_000_000)
            case "--read-timeout":
                configuration.readTimeout = try number(in: 0...86400, of: "seconds")
            case "--write-timeout":
                configuration.writeTimeout = try number(in: 0...86400, of: "seconds")
            case "--request-timeout":
                configuration.requestTimeout = try number(in: 0...86400, of: "seconds")
            case "--trust-forwarded-proto":
                configuration.trustForwardedProto = true
            default:
                guard programFlags.contains(flag) else {
                    throw ServerError(.invalidArgument, "unknown option \(argument); the options are --listen, --socket-mode, --workers, --processes, --max-requests, --max-body, --max-form-fields, --read-timeout, --write-timeout, --request-timeout, --trust-forwarded-proto\(programFlags.sorted().map { ", " + $0 }.joined())")
                }
                programValues[flag] = try required()
            }
        }
        if let socketMode {
            guard case .unix(let path, _) = configuration.listen else {
                throw ServerError(.invalidArgument, "--socket-mode applies only with --listen unix:PATH")
            }
            configuration.listen = .unix(path: path, mode: socketMode)
        }
    }
}
