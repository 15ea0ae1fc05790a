/// Decoding of `application/x-www-form-urlencoded` text: query strings and form bodies.
///
/// `+` is a space, `%XX` a byte; a `%` not followed by two hex digits stays as it is (as
/// browsers do); bytes that are not UTF-8 become U+FFFD. Empty pairs (`a=1&&b=2`) are skipped; a
/// pair without `=` is a name with an empty value.
enum URLEncoding {
    static func parse<Bytes: Collection<UInt8>>(_ text: Bytes) -> FieldList {
        var fields = FieldList()
        var start = text.startIndex
        // Pair by pair, without an array of the pairs first.
        while start != text.endIndex {
            let end = text[start...].firstIndex(of: UInt8(ascii: "&")) ?? text.endIndex
            let pair = text[start..<end]
            start = end == text.endIndex ? end : text.index(after: end)
            if pair.isEmpty { continue }
            if let equals = pair.firstIndex(of: UInt8(ascii: "=")) {
                fields.append(name: decode(pair[..<equals]), value: decode(pair[pair.index(after: equals)...]))
            } else {
                fields.append(name: decode(pair), value: "")
            }
        }
        return fields
    }

    /// How many fields ``parse(_:)`` finds in `text`, counted without making them: what a form
    /// is checked against before it is parsed.
    static func fieldCount<Bytes: Collection<UInt8>>(_ text: Bytes) -> Int {
        var count = 0
        var pairIsEmpty = true
        for byte in text {
            if byte == UInt8(ascii: "&") {
                pairIsEmpty = true
            } else if pairIsEmpty {
                pairIsEmpty = false
                count += 1
            }
        }
        return count
    }

    /// Percent-decodes `text`, turning `+` into a space when `plusIsSpace`.
    static func decode<Bytes: Collection<UInt8>>(_ text: Bytes, plusIsSpace: Bool = true) -> String {
        if !text.contains(where: { $0 == UInt8(ascii: "%") || $0 == UInt8(ascii: "+") }) {
            return String(decoding: text, as: UTF8.self)
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.count)
        var index = text.startIndex
        while index != text.endIndex {
            let byte = text[index]
            if byte == UInt8(ascii: "+"), plusIsSpace {
                bytes.append(UInt8(ascii: " "))
            } else if byte == UInt8(ascii: "%"),
                      let high = text.index(index, offsetBy: 1, limitedBy: text.endIndex), high != text.endIndex,
                      let low = text.index(high, offsetBy: 1, limitedBy: text.endIndex), low != text.endIndex,
                      let value = hexValue(text[high], text[low]) {
                bytes.append(value)
                index = low
            } else {
                bytes.append(byte)
            }
            index = text.index(after: index)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func hexValue(_ high: UInt8, _ low: UInt8) -> UInt8? {
        guard let high = high.hexDigitValue, let low = low.hexDigitValue else { return nil }
        return high << 4 | low
    }
}
