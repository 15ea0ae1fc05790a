/// Where a FastCGI server takes its connections from.
///
/// Written on the command line as `--listen unix:PATH`, `--listen HOST:PORT` or
/// `--listen [IPV6]:PORT`:
///
/// ```swift
/// let local = try ListenAddress("unix:/run/app/app.sock")     // .unix(path: "/run/app/app.sock")
/// let tcp = try ListenAddress("127.0.0.1:9000")               // .tcp(host: "127.0.0.1", port: 9000)
/// let v6 = try ListenAddress("[::1]:9000")                    // .tcp(host: "::1", port: 9000)
/// ```
public enum ListenAddress: Sendable, Equatable, CustomStringConvertible {
    /// A Unix socket at `path`, made with permissions `mode` (default `0o660`: the web server
    /// shares the program's group). A stale socket file left by a dead server is replaced; a live
    /// one, or any other kind of file, is an error.
    case unix(path: String, mode: UInt32 = 0o660)
    /// A TCP socket on `host` (an IPv4 or IPv6 address, or a name that resolves to one) and `port`.
    case tcp(host: String, port: UInt16)
    /// A listening socket the process inherited as this descriptor: 0 from spawn-fcgi,
    /// mod_fcgid or `cgi-fcgi -start`, 3 from systemd socket activation.
    case inherited(descriptor: Int32)

    /// Parses `unix:PATH`, `HOST:PORT` or `[IPV6]:PORT`.
    ///
    /// ```swift
    /// try ListenAddress("unix:/tmp/app.sock")
    /// ```
    public init(_ text: String) throws(ServerError) {
        if text.hasPrefix("unix:") {
            let path = String(text.dropFirst(5))
            guard !path.isEmpty else { throw ServerError(.invalidArgument, "--listen unix: needs a path") }
            self = .unix(path: path)
            return
        }
        let host: Substring
        let port: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else {
                throw ServerError(.invalidArgument, "cannot read --listen \(text): write [IPV6]:PORT")
            }
            host = text[text.index(after: text.startIndex)..<close]
            port = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":") else {
                throw ServerError(.invalidArgument, "cannot read --listen \(text): write unix:PATH, HOST:PORT or [IPV6]:PORT")
            }
            host = text[..<colon]
            port = text[text.index(after: colon)...]
        }
        guard !host.isEmpty, let number = UInt16(port), number > 0 else {
            throw ServerError(.invalidArgument, "cannot read --listen \(text): the host or port is missing or wrong")
        }
        self = .tcp(host: String(host), port: number)
    }

    public var description: String {
        switch self {
        case .unix(let path, _): "unix:\(path)"
        case .tcp(let host, let port): host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        case .inherited(let descriptor): "inherited socket \(descriptor)"
        }
    }
}
