/// The command line of a FastCGI program of this package: the flags every server takes, read
/// into a server configuration, and the program's own flags, read by the same rules. One reader
/// for every flag, so that every program says the same things the same way.
///
/// `--listen unix:PATH|HOST:PORT|[IPV6]:PORT`, `--socket-mode OCTAL`, `--workers N`,
/// `--processes P`, `--max-requests N`, `--max-body BYTES`, `--max-form-fields N`,
/// `--read-timeout SECONDS`, `--write-timeout SECONDS`, `--request-timeout SECONDS`,
/// `--trust-forwarded-proto`, `--status-path PATH`, `--status-allow ADDRESS[/BITS],…`. Each takes
/// `--flag value` or `--flag=value`.
///
/// ```swift
/// let options = try ServerOptions(CommandLine.arguments.dropFirst(), programFlags: ["--sessions", "--idle-timeout"])
/// let directory = options.value(of: "--sessions") ?? "/tmp/sessions"
/// let idle = try options.number("--idle-timeout", in: 1...86400) ?? 1440
/// try FastCGIServer(configuration: options.configuration).run(app)
/// ```
public struct ServerOptions: Sendable {
    /// The server configuration the flags describe.
    public var configuration: FastCGIServer.Configuration
    /// The values of the program's own flags, by flag (`--sessions`).
    public let programValues: [String: String]
    /// Every flag given, the server's and the program's, with its value.
    private let given: [String: String]

    /// The flags every server takes; `--trust-forwarded-proto` alone takes no value.
    static let serverFlags = ["--listen", "--socket-mode", "--workers", "--processes", "--max-requests", "--max-body",
                              "--max-form-fields", "--read-timeout", "--write-timeout", "--request-timeout",
                              "--trust-forwarded-proto", "--status-path", "--status-allow"]

    /// Reads `arguments` (without the program name).
    ///
    /// Throws ``ServerError`` with code ``ServerError/Code/invalidArgument`` for an unknown flag,
    /// a missing value or a value that does not parse.
    ///
    /// ```swift
    /// let options = try ServerOptions(["--listen", "127.0.0.1:9000", "--workers", "4"])
    /// ```
    public init(_ arguments: some Sequence<String>, programFlags: Set<String> = []) throws(ServerError) {
        var values: [String: String] = [:]
        var iterator = arguments.makeIterator()
        while let argument = iterator.next() {
            var flag = argument
            var value: String?
            if let equals = argument.firstIndex(of: "="), argument.hasPrefix("--") {
                flag = String(argument[..<equals])
                value = String(argument[argument.index(after: equals)...])
            }
            guard Self.serverFlags.contains(flag) || programFlags.contains(flag) else {
                let known = Self.serverFlags + programFlags.sorted()
                throw ServerError(.invalidArgument, "unknown option \(argument); the options are \(known.joined(separator: ", "))")
            }
            if flag == "--trust-forwarded-proto" {
                values[flag] = value ?? ""
                continue
            }
            guard let given = value ?? iterator.next() else { throw ServerError(.invalidArgument, "\(flag) needs a value") }
            values[flag] = given
        }
        given = values
        programValues = values.filter { programFlags.contains($0.key) }
        configuration = FastCGIServer.Configuration()
        configuration = try serverConfiguration()
    }

    /// The server configuration the server's flags describe.
    private func serverConfiguration() throws(ServerError) -> FastCGIServer.Configuration {
        var configuration = FastCGIServer.Configuration()
        if let address = value(of: "--listen") { configuration.listen = try ListenAddress(address) }
        if let workers = try number("--workers", in: 1...1024) { configuration.workers = workers }
        if let processes = try number("--processes", in: 1...256) { configuration.processes = processes }
        configuration.maxRequests = try number("--max-requests", in: 1...Int.max, of: "requests")
        if let bytes = try number("--max-body", in: 0...Int.max, of: "bytes") { configuration.maxBodySize = bytes }
        if let fields = try number("--max-form-fields", in: 1...1_000_000) { configuration.maxFormFields = fields }
        if let seconds = try number("--read-timeout", in: 0...86400, of: "seconds") { configuration.readTimeout = seconds }
        if let seconds = try number("--write-timeout", in: 0...86400, of: "seconds") { configuration.writeTimeout = seconds }
        if let seconds = try number("--request-timeout", in: 0...86400, of: "seconds") { configuration.requestTimeout = seconds }
        configuration.trustForwardedProto = value(of: "--trust-forwarded-proto") != nil
        if let path = value(of: "--status-path") {
            guard path.hasPrefix("/") else { throw ServerError(.invalidArgument, "--status-path wants a path such as /status, not \(path)") }
            configuration.statusPath = path
        }
        if let list = value(of: "--status-allow") {
            do { configuration.statusAllow = try AddressRanges(list) } catch {
                throw ServerError(.invalidArgument, "--status-allow: \(error.message)")
            }
        }
        if let text = value(of: "--socket-mode") {
            guard let mode = UInt32(text, radix: 8), mode <= 0o777 else {
                throw ServerError(.invalidArgument, "--socket-mode wants octal permissions such as 660, not \(text)")
            }
            guard case .unix(let path, _) = configuration.listen else {
                throw ServerError(.invalidArgument, "--socket-mode applies only with --listen unix:PATH")
            }
            configuration.listen = .unix(path: path, mode: mode)
        }
        return configuration
    }

    /// The value given for `flag`, or nil when it was not given.
    ///
    /// ```swift
    /// let directory = options.value(of: "--sessions") ?? "/var/lib/app/sessions"
    /// ```
    public func value(of flag: String) -> String? {
        given[flag]
    }

    /// The number given for `flag`, which must lie in `range` (`unit` names what it counts in
    /// the message); nil when the flag was not given.
    ///
    /// ```swift
    /// let idle = try options.number("--idle-timeout", in: 1...86400, of: "seconds") ?? 1440
    /// ```
    public func number(_ flag: String, in range: ClosedRange<Int>, of unit: String? = nil) throws(ServerError) -> Int? {
        guard let text = value(of: flag) else { return nil }
        guard let number = Int(text), range.contains(number) else {
            let what = unit.map { "a number of \($0)" } ?? "a number"
            let bound = range.upperBound == .max ? "at least \(range.lowerBound)" : "from \(range.lowerBound) to \(range.upperBound)"
            throw ServerError(.invalidArgument, "\(flag) wants \(what) \(bound), not \(text)")
        }
        return number
    }

    /// The word given for `flag`, which must be one of `words`; the first of them when the flag
    /// was not given.
    ///
    /// ```swift
    /// let locking = try options.choice("--locking", of: ["merge", "exclusive"])
    /// ```
    public func choice(_ flag: String, of words: [String]) throws(ServerError) -> String {
        let word = value(of: flag) ?? words[0]
        guard words.contains(word) else {
            throw ServerError(.invalidArgument, "\(flag) wants \(words.joined(separator: " or ")), not \(word)")
        }
        return word
    }
}
