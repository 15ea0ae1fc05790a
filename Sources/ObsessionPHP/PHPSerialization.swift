/// Why bytes are not PHP's serialized format as this reader accepts it, or a value cannot be
/// written in it.
///
/// ```swift
/// do { _ = try PHPValue(serialized: bytes) } catch { print(error) }  // PHP serialized data: … at byte 12
/// ```
public struct PHPFormatError: Error, Equatable, CustomStringConvertible {
    /// What was wrong, and where.
    public let description: String

    init(_ what: String, at index: Int) {
        description = "PHP serialized data: \(what) at byte \(index)"
    }
}

/// The limits on what is read: a session that breaks them is refused whole, never half read.
public enum PHPFormatLimits {
    /// Deepest nesting of arrays and objects.
    public static let maxDepth = 64
    /// Most bytes in one session's data.
    public static let maxBytes = 8 << 20
    /// Most values in one session's data, all levels together.
    public static let maxValues = 1 << 20
}

extension PHPValue {
    /// Reads one serialized value that takes all of `bytes`.
    ///
    /// ```swift
    /// let value = try PHPValue(serialized: Array("i:42;".utf8))  // .int(42)
    /// ```
    public init(serialized bytes: [UInt8]) throws(PHPFormatError) {
        var reader = try PHPReader(bytes)
        self = try reader.value(depth: 0)
        guard reader.atEnd else { throw PHPFormatError("bytes after the value", at: reader.index) }
    }

    /// The value as `serialize()` writes it; doubles in their shortest exact form (PHP's
    /// `serialize_precision = -1`), with `NAN`, `INF` and `-INF`.
    ///
    /// ```swift
    /// PHPValue.double(0.1).serialized  // "d:0.1;"
    /// ```
    public var serialized: [UInt8] {
        var output: [UInt8] = []
        write(to: &output)
        return output
    }

    func write(to output: inout [UInt8]) {
        switch self {
        case .null: output += Array("N;".utf8)
        case .bool(let value): output += Array((value ? "b:1;" : "b:0;").utf8)
        case .int(let value): output += Array("i:\(value);".utf8)
        case .double(let value): output += Array("d:\(Self.text(of: value));".utf8)
        case .string(let bytes): Self.writeString(bytes, to: &output)
        case .array(let entries):
            output += Array("a:\(entries.count):{".utf8)
            for entry in entries {
                Self.write(entry.key, to: &output)
                entry.value.write(to: &output)
            }
            output.append(UInt8(ascii: "}"))
        case .opaque(let bytes): output += bytes
        }
    }

    /// An array key: `i:N;` or `s:LENGTH:"BYTES";`.
    static func write(_ key: Key, to output: inout [UInt8]) {
        switch key {
        case .int(let key): output += Array("i:\(key);".utf8)
        case .string(let key): writeString(key, to: &output)
        }
    }

    private static func writeString(_ bytes: [UInt8], to output: inout [UInt8]) {
        output += Array("s:\(bytes.count):\"".utf8)
        output += bytes
        output += Array("\";".utf8)
    }

    /// PHP's text for a double: Swift's shortest round-trip digits, which PHP reads back to
    /// the same double (`1e+25`, `0.1`, `-0.0`).
    static func text(of value: Double) -> String {
        if value.isNaN { return "NAN" }
        if value.isInfinite { return value < 0 ? "-INF" : "INF" }
        return value.description
    }
}

/// A reader of PHP's serialized format over bytes: a strict one, recursing no deeper than
/// ``PHPFormatLimits/maxDepth``, counting every value against ``PHPFormatLimits/maxValues``,
/// and believing no declared count or length the remaining bytes could not hold.
struct PHPReader {
    let bytes: [UInt8]
    private(set) var index = 0
    private var values = 0
    /// Whether a reference (`r:` or `R:`) was read: its number counts values from the start of
    /// the session, so a change before it would make it point elsewhere.
    private(set) var sawReference = false

    init(_ bytes: [UInt8]) throws(PHPFormatError) {
        guard bytes.count <= PHPFormatLimits.maxBytes else {
            throw PHPFormatError("more than \(PHPFormatLimits.maxBytes) bytes", at: 0)
        }
        self.bytes = bytes
    }

    var atEnd: Bool { index == bytes.count }

    func error(_ what: String) -> PHPFormatError { PHPFormatError(what, at: index) }

    mutating func value(depth: Int) throws(PHPFormatError) -> PHPValue {
        guard depth < PHPFormatLimits.maxDepth else { throw error("nesting deeper than \(PHPFormatLimits.maxDepth)") }
        values += 1
        guard values <= PHPFormatLimits.maxValues else { throw error("more than \(PHPFormatLimits.maxValues) values") }
        let start = index
        let tag = try next()
        switch tag {
        case UInt8(ascii: "N"):
            try expect(";")
            return .null
        case UInt8(ascii: "b"):
            try expect(":")
            let value = try next()
            guard value == UInt8(ascii: "0") || value == UInt8(ascii: "1") else { throw error("a bool that is not 0 or 1") }
            try expect(";")
            return .bool(value == UInt8(ascii: "1"))
        case UInt8(ascii: "i"):
            try expect(":")
            let value = try integer(until: ";")
            return .int(value)
        case UInt8(ascii: "d"):
            try expect(":")
            return .double(try double())
        case UInt8(ascii: "s"):
            return .string(try stringBody())
        case UInt8(ascii: "a"):
            try expect(":")
            let count = try length(until: ":", each: 4)
            try expect("{")
            var entries: [PHPValue.Entry] = []
            entries.reserveCapacity(count)
            for _ in 0..<count {
                let key = try key()
                entries.append(PHPValue.Entry(key: key, value: try value(depth: depth + 1)))
            }
            try expect("}")
            return .array(entries)
        case UInt8(ascii: "O"):
            try expect(":")
            _ = try quoted(until: ":")
            let count = try length(until: ":", each: 4)
            try expect("{")
            for _ in 0..<count {
                _ = try key()
                _ = try value(depth: depth + 1)
            }
            try expect("}")
            return .opaque(Array(bytes[start..<index]))
        case UInt8(ascii: "C"):
            try expect(":")
            _ = try quoted(until: ":")
            let length = try length(until: ":", each: 1)
            try expect("{")
            index += length
            try expect("}")
            return .opaque(Array(bytes[start..<index]))
        case UInt8(ascii: "E"):
            try expect(":")
            _ = try quoted(until: ";")
            return .opaque(Array(bytes[start..<index]))
        case UInt8(ascii: "r"), UInt8(ascii: "R"):
            try expect(":")
            guard try integer(until: ";") > 0 else { throw error("a reference to nothing") }
            sawReference = true
            return .opaque(Array(bytes[start..<index]))
        default:
            index = start
            throw error("no value begins with \(String(reflecting: String(decoding: [tag], as: UTF8.self)))")
        }
    }

    /// A top-level array's entries, each value's bytes as a range: what `php_serialize` stores.
    mutating func arrayEntries() throws(PHPFormatError) -> [(key: PHPValue.Key, range: Range<Int>)] {
        values += 1
        try expect("a")
        try expect(":")
        let count = try length(until: ":", each: 4)
        try expect("{")
        var entries: [(key: PHPValue.Key, range: Range<Int>)] = []
        for _ in 0..<count {
            let key = try key()
            let start = index
            _ = try value(depth: 1)
            entries.append((key, start..<index))
        }
        try expect("}")
        return entries
    }

    /// Moves on to `position`, within the bytes.
    mutating func skip(to position: Int) {
        index = min(position, bytes.count)
    }

    /// An array or object key: `i:` or `s:` only, as PHP allows.
    private mutating func key() throws(PHPFormatError) -> PHPValue.Key {
        let tag = try next()
        if tag == UInt8(ascii: "i") {
            try expect(":")
            return .int(try integer(until: ";"))
        }
        guard tag == UInt8(ascii: "s") else { index -= 1; throw error("a key that is not an int or a string") }
        return .string(try stringBody())
    }

    /// The rest of `s:LENGTH:"BYTES";` after its `s`.
    private mutating func stringBody() throws(PHPFormatError) -> [UInt8] {
        try expect(":")
        return try quoted(until: ";")
    }

    /// `LENGTH:"BYTES"` followed by `terminator`: the bytes.
    private mutating func quoted(until terminator: Character) throws(PHPFormatError) -> [UInt8] {
        let length = try length(until: ":", each: 1)
        try expect("\"")
        guard length <= bytes.count - index else { throw error("a string longer than the data left") }
        let text = Array(bytes[index..<index + length])
        index += length
        try expect("\"")
        try expect(terminator)
        return text
    }

    /// A count or length followed by `terminator`, refused if the bytes left could not hold
    /// that many items of at least `each` bytes.
    private mutating func length(until terminator: Character, each: Int) throws(PHPFormatError) -> Int {
        let value = try integer(until: terminator)
        guard value >= 0, value <= (bytes.count - index) / each else { throw error("a length of \(value) the data cannot hold") }
        return value
    }

    /// A decimal integer (optional sign) followed by `terminator`, refused on overflow.
    private mutating func integer(until terminator: Character) throws(PHPFormatError) -> Int {
        let start = index
        var negative = false
        if index < bytes.count, bytes[index] == UInt8(ascii: "-") || bytes[index] == UInt8(ascii: "+") {
            negative = bytes[index] == UInt8(ascii: "-")
            index += 1
        }
        var value = 0
        var digits = 0
        while index < bytes.count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") {
            let digit = Int(bytes[index] - UInt8(ascii: "0"))
            let (times, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = negative ? times.subtractingReportingOverflow(digit) : times.addingReportingOverflow(digit)
            guard !overflow1, !overflow2 else { index = start; throw error("an integer out of range") }
            value = sum
            digits += 1
            index += 1
        }
        guard digits > 0 else { index = start; throw error("no digits") }
        try expect(terminator)
        return value
    }

    /// A double's text up to `;`: digits, sign, point and exponent, or NAN, INF, -INF.
    private mutating func double() throws(PHPFormatError) -> Double {
        let start = index
        while index < bytes.count, bytes[index] != UInt8(ascii: ";"), index - start < 64 { index += 1 }
        let text = String(decoding: bytes[start..<index], as: UTF8.self)
        try expect(";")
        switch text {
        case "NAN": return .nan
        case "INF": return .infinity
        case "-INF": return -.infinity
        default:
            guard text.utf8.allSatisfy({ ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) || "+-.eE".utf8.contains($0) }),
                  let value = Double(text) else {
                index = start
                throw error("a double that is not a number")
            }
            return value
        }
    }

    private mutating func next() throws(PHPFormatError) -> UInt8 {
        guard index < bytes.count else { throw error("the data ends too soon") }
        defer { index += 1 }
        return bytes[index]
    }

    private mutating func expect(_ character: Character) throws(PHPFormatError) {
        guard index < bytes.count, bytes[index] == character.asciiValue! else {
            throw error(index < bytes.count ? "expected \(String(reflecting: String(character)))" : "the data ends too soon")
        }
        index += 1
    }
}
