/// Parses a request's `Cookie` header the way RFC 6265 §5.4 (and its 6265bis revision) lets a
/// server read what browsers send.
///
/// - Pairs are split on `;`; spaces and tabs around names and values are dropped.
/// - A crumb without `=` is a cookie with an empty name (6265bis), kept, not dropped.
/// - One pair of double quotes around a value is removed: `a="b c"` gives `b c`.
/// - Every pair is kept, in order, even when a name repeats: browsers send the cookie with the
///   longest matching path first, so the first value is the most specific one.
package enum CookieHeader {
    /// The cookies of a `Cookie` header, in order.
    static func parse(_ header: String) -> FieldList {
        var cookies = FieldList()
        header.withUTF8Bytes { bytes in
            forEach(in: bytes) { name, value in
                cookies.append(name: String(decoding: name, as: UTF8.self), value: String(decoding: value, as: UTF8.self))
                return true
            }
        }
        return cookies
    }

    /// Calls `body` with each cookie's name and value bytes, in order, while it returns true:
    /// for a caller that wants one cookie and no strings for the others.
    ///
    /// ```swift
    /// CookieHeader.forEach(in: bytes) { name, value in !name.elementsEqual("sid".utf8) }
    /// ```
    package static func forEach(in bytes: UnsafeBufferPointer<UInt8>,
                                _ body: (_ name: UnsafeBufferPointer<UInt8>, _ value: UnsafeBufferPointer<UInt8>) -> Bool) {
        var start = 0
        while start < bytes.count {
            let end = bytes[start...].firstIndex(of: UInt8(ascii: ";")) ?? bytes.count
            defer { start = end + 1 }
            let crumb = bytes[start..<end].trimmingSpaces()
            if crumb.isEmpty { continue }
            let name: Slice<UnsafeBufferPointer<UInt8>>
            var value: Slice<UnsafeBufferPointer<UInt8>>
            if let equals = crumb.firstIndex(of: UInt8(ascii: "=")) {
                name = crumb[..<equals].trimmingSpaces()
                value = crumb[(equals + 1)...].trimmingSpaces()
            } else {
                name = crumb[crumb.startIndex..<crumb.startIndex]
                value = crumb
            }
            if value.count >= 2, value.first == UInt8(ascii: "\""), value.last == UInt8(ascii: "\"") {
                value = value.dropFirst().dropLast()
            }
            if !body(UnsafeBufferPointer(rebasing: name), UnsafeBufferPointer(rebasing: value)) { return }
        }
    }
}

extension BidirectionalCollection where Element == UInt8, SubSequence == Self {
    /// The bytes without leading and trailing spaces and tabs.
    func trimmingSpaces() -> SubSequence {
        let isSpace = { (byte: UInt8) in byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
        var result = self
        while let first = result.first, isSpace(first) { result = result.dropFirst() }
        while let last = result.last, isSpace(last) { result = result.dropLast() }
        return result
    }
}
