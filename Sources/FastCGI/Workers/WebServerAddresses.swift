import Glibc

/// The addresses a TCP connection may come from, from `FCGI_WEB_SERVER_ADDRS`: a comma-separated
/// list of IPv4 or IPv6 addresses, as libfcgi and Apache's mod_fastcgi read it. Unset or empty,
/// every address may connect; a Unix connection is never checked.
///
/// ```swift
/// let allowed = try WebServerAddresses("127.0.0.1,::1")
/// ```
struct WebServerAddresses: Sendable {
    /// Each allowed address's bytes: 4 for IPv4, 16 for IPv6.
    private let allowed: [[UInt8]]

    /// Reads the list; an entry that is not an address is an error, not an address that never
    /// matches (as it is to libfcgi).
    init(_ list: String?) throws(ServerError) {
        var allowed: [[UInt8]] = []
        for entry in (list ?? "").split(separator: ",") {
            let text = String(entry.filter { $0 != " " })
            guard let address = Self.bytes(of: text) else {
                throw ServerError(.invalidArgument, "FCGI_WEB_SERVER_ADDRS holds \(String(reflecting: text)), which is not an IPv4 or IPv6 address")
            }
            allowed.append(address)
        }
        self.allowed = allowed
    }

    /// Whether a connection from `peer` may be served.
    func allows(_ peer: sockaddr_storage) -> Bool {
        guard !allowed.isEmpty, let address = Self.bytes(of: peer) else { return true }
        return allowed.contains(address)
    }

    /// The IP address of `peer`, an IPv4-mapped IPv6 one as IPv4; nil for a Unix peer.
    private static func bytes(of peer: sockaddr_storage) -> [UInt8]? {
        let family = Int32(peer.ss_family)
        var peer = peer
        return withUnsafeBytes(of: &peer) { bytes in
            switch family {
            case AF_INET:
                return Array(bytes[MemoryLayout<sockaddr_in>.offset(of: \.sin_addr)!...].prefix(4))
            case AF_INET6:
                return unmapped(Array(bytes[MemoryLayout<sockaddr_in6>.offset(of: \.sin6_addr)!...].prefix(16)))
            default:
                return nil
            }
        }
    }

    /// The bytes of the IPv4 or IPv6 address `text` (4 or 16); nil if it is neither.
    static func bytes(of text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
        var v6 = in6_addr()
        return inet_pton(AF_INET6, text, &v6) == 1 ? withUnsafeBytes(of: &v6) { Array($0) } : nil
    }

    /// `address` with an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`, as an IPv4 client of a
    /// dual-stack socket arrives) as the IPv4 address it maps.
    static func unmapped(_ address: [UInt8]) -> [UInt8] {
        address.count == 16 && address.prefix(12).elementsEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF])
            ? Array(address.suffix(4)) : address
    }
}
