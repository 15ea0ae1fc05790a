/// A Redis server and how to log in to it, as a URL names it:
/// `redis://[user[:password]@]host[:port][/database]` or `unix:///path/to/socket[?db=N]`
/// (a user and password there as `unix://user:password@/path`). With Redis Sentinel, the
/// master's address comes from the sentinels and only the login and database are taken from here.
///
/// ```swift
/// let server = try RedisServer(url: "redis://sessions:secret@10.0.0.5:6379/2")
/// let local = try RedisServer(url: "unix:///run/redis/redis-server.sock?db=1")
/// ```
public struct RedisServer: Sendable, Equatable, CustomStringConvertible {
    /// Where a server listens.
    public enum Endpoint: Sendable, Equatable, CustomStringConvertible {
        /// A host name or address, and a port.
        case tcp(host: String, port: Int)
        /// A Unix socket's path.
        case unix(path: String)

        /// `host:port` (`[v6]:port`), or the socket's path.
        public var description: String {
            switch self {
            case .tcp(let host, let port): host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
            case .unix(let path): path
            }
        }

        /// Parses `host:port` (`[v6]:port`), the port defaulting to `defaultPort`.
        ///
        /// ```swift
        /// let sentinel = try RedisServer.Endpoint(hostAndPort: "10.0.0.7:26379", defaultPort: 26379)
        /// ```
        public init(hostAndPort text: String, defaultPort: Int) throws(RedisURLError) {
            var host = Substring(text)
            var port = defaultPort
            if host.hasPrefix("[") {
                guard let close = host.firstIndex(of: "]") else { throw RedisURLError(text, "an IPv6 address lacks its ]") }
                let rest = host[host.index(after: close)...]
                host = host[host.index(after: host.startIndex)..<close]
                if !rest.isEmpty {
                    guard rest.hasPrefix(":"), let number = Int(rest.dropFirst()) else { throw RedisURLError(text, "bad port") }
                    port = number
                }
            } else if let colon = host.lastIndex(of: ":") {
                guard let number = Int(host[host.index(after: colon)...]) else { throw RedisURLError(text, "bad port") }
                port = number
                host = host[..<colon]
            }
            guard !host.isEmpty else { throw RedisURLError(text, "no host") }
            guard (1...65535).contains(port) else { throw RedisURLError(text, "port \(port) is not 1 to 65535") }
            self = .tcp(host: String(host), port: port)
        }
    }

    /// Where it listens.
    public var endpoint: Endpoint
    /// The ACL user to log in as (`AUTH user password`); nil for the default user.
    public var user: String?
    /// The password; nil for a server that asks none.
    public var password: String?
    /// The database number (`SELECT`), 0 by default.
    public var database: Int

    /// A server at `endpoint`.
    ///
    /// ```swift
    /// let server = RedisServer(.tcp(host: "127.0.0.1", port: 6379), password: "secret")
    /// ```
    public init(_ endpoint: Endpoint, user: String? = nil, password: String? = nil, database: Int = 0) {
        self.endpoint = endpoint
        self.user = user
        self.password = password
        self.database = database
    }

    /// Parses a `redis://` or `unix://` URL; user and password may be percent-encoded.
    ///
    /// ```swift
    /// let server = try RedisServer(url: "redis://127.0.0.1:6379/0")
    /// ```
    public init(url: String) throws(RedisURLError) {
        let scheme: Substring
        var rest: Substring
        if let separator = url.firstRange(of: "://") {
            scheme = url[..<separator.lowerBound]
            rest = url[separator.upperBound...]
        } else {
            throw RedisURLError(url, "not a redis:// or unix:// URL")
        }
        var query: Substring = ""
        if let question = rest.firstIndex(of: "?") {
            query = rest[rest.index(after: question)...]
            rest = rest[..<question]
        }
        var user: String?
        var password: String?
        if let at = rest.lastIndex(of: "@") {
            let login = rest[..<at]
            rest = rest[rest.index(after: at)...]
            let parts = login.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            let name = try Self.percentDecoded(parts[0], in: url)
            user = name.isEmpty ? nil : name
            password = parts.count > 1 ? try Self.percentDecoded(parts[1], in: url) : nil
            if parts.count == 1 { (user, password) = (nil, name) }  // redis://secret@host: a password alone
        }
        var database = 0
        for pair in query.split(separator: "&") where pair.hasPrefix("db=") {
            guard let number = Int(pair.dropFirst(3)) else { throw RedisURLError(url, "bad database number") }
            database = number
        }
        switch scheme {
        case "redis":
            if let slash = rest.firstIndex(of: "/") {
                let path = rest[rest.index(after: slash)...]
                rest = rest[..<slash]
                if !path.isEmpty {
                    guard let number = Int(path) else { throw RedisURLError(url, "bad database number") }
                    database = number
                }
            }
            self.init(try Endpoint(hostAndPort: String(rest), defaultPort: 6379), user: user, password: password, database: database)
        case "unix":
            guard rest.hasPrefix("/") else { throw RedisURLError(url, "a unix:// URL needs an absolute path") }
            self.init(.unix(path: String(rest)), user: user, password: password, database: database)
        default:
            throw RedisURLError(url, "not a redis:// or unix:// URL")
        }
        guard (0...1_000_000).contains(database) else { throw RedisURLError(url, "bad database number") }
    }

    /// The URL again, the password hidden: what messages print.
    public var description: String {
        let login = user.map { "\($0)\(password == nil ? "" : ":…")@" } ?? (password == nil ? "" : ":…@")
        switch endpoint {
        case .tcp: return "redis://\(login)\(endpoint)/\(database)"
        case .unix(let path): return "unix://\(login)\(path)?db=\(database)"
        }
    }

    private static func percentDecoded(_ text: Substring, in url: String) throws(RedisURLError) -> String {
        var bytes: [UInt8] = []
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else { bytes.append(byte); continue }
            guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else {
                throw RedisURLError(url, "bad percent-encoding")
            }
            bytes.append(high << 4 | low)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

/// Why a Redis URL or address was refused.
///
/// ```swift
/// do { _ = try RedisServer(url: text) } catch { print(error) }  // redis URL "…": bad port
/// ```
public struct RedisURLError: Error, Equatable, CustomStringConvertible {
    /// What was refused, and why.
    public let description: String

    /// Names `text` with any password in it hidden.
    init(_ text: String, _ reason: String) {
        var shown = Substring(text)
        if let scheme = text.firstRange(of: "://"), let at = text.lastIndex(of: "@"), scheme.upperBound <= at {
            shown = text[..<scheme.upperBound] + "…" + text[at...]
        }
        description = "redis address \(String(reflecting: String(shown))): \(reason)"
    }
}
