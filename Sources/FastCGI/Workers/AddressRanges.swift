/// Client addresses allowed something (the status page): a comma-separated list of IPv4 and
/// IPv6 addresses and CIDR ranges, matched against a request's `REMOTE_ADDR`.
///
/// ```swift
/// let allowed = try AddressRanges("127.0.0.1, ::1, 10.0.0.0/8")
/// allowed.contains("10.1.2.3")   // true
/// ```
public struct AddressRanges: Sendable, Equatable {
    /// One range: an address's bytes (4 or 16) and how many of their leading bits must match.
    private struct Range: Sendable, Equatable {
        let bytes: [UInt8]
        let bits: Int
    }

    private let ranges: [Range]

    /// Reads the list; an entry that is not an address or range is an error.
    ///
    /// ```swift
    /// let loopback = try AddressRanges("127.0.0.1,::1")
    /// ```
    public init(_ list: String) throws(ServerError) {
        var ranges: [Range] = []
        for entry in list.split(separator: ",") {
            let text = entry.filter { $0 != " " }
            let parts = text.split(separator: "/", maxSplits: 1).map(String.init)
            guard let address = parts.first, let bytes = WebServerAddresses.bytes(of: address),
                  let bits = parts.count == 2 ? Int(parts[1]) : bytes.count * 8, (0...bytes.count * 8).contains(bits) else {
                throw ServerError(.invalidArgument, "\(String(reflecting: String(text))) is not an IPv4 or IPv6 address or range (such as 10.0.0.0/8)")
            }
            ranges.append(Range(bytes: bytes, bits: bits))
        }
        self.ranges = ranges
    }

    /// Whether `address` (an IPv4-mapped IPv6 one as IPv4) lies in one of the ranges.
    ///
    /// ```swift
    /// guard allowed.contains(request.remoteAddress ?? "") else { throw Forbidden() }
    /// ```
    public func contains(_ address: String) -> Bool {
        guard let bytes = WebServerAddresses.bytes(of: address).map(WebServerAddresses.unmapped) else { return false }
        return ranges.contains { range in
            guard range.bytes.count == bytes.count else { return false }
            for bit in 0..<range.bits where (range.bytes[bit / 8] ^ bytes[bit / 8]) & (0x80 >> UInt8(bit % 8)) != 0 { return false }
            return true
        }
    }
}
