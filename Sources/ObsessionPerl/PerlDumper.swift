public import Obsession

/// Why a CGI::Session record is not the data this reader accepts.
///
/// ```swift
/// do { _ = try PerlDumper.entries(of: bytes) } catch { print(error) }
/// ```
public struct PerlFormatError: Error, Equatable, CustomStringConvertible {
    /// What was wrong, and where.
    public let description: String

    init(_ what: String, at index: Int) {
        description = "CGI::Session data: \(what) at byte \(index)"
    }
}

/// CGI::Session's default serializer: `Data::Dumper` text (`$D = {…};;$D`), read as data by a
/// strict parser, never evaluated: hashes, arrays, quoted strings, integers and `undef`. A
/// blessed object is kept as its text, never interpreted; anything else (code, references to
/// scalars, the statements `Purity` adds for shared references) is refused.
///
/// ```swift
/// let entries = try PerlDumper.entries(of: Array("$D = {'user' => 'ann','n' => 3};;$D".utf8))
/// ```
public enum PerlDumper {
    /// Deepest nesting read.
    public static let maxDepth = 64

    /// One top-level key of the session's hash: its value's text as stored, and the value
    /// when a session value can hold it (nil for a blessed object, or one inside).
    public struct Entry: Sendable, Equatable {
        /// The key.
        public var key: String
        /// Its value's text, as stored or to be written.
        public var text: [UInt8]
        /// The value, when a session value can hold it faithfully.
        public var value: SessionValue?
    }

    /// The entries of a record, in the order stored.
    public static func entries(of bytes: [UInt8]) throws(PerlFormatError) -> [Entry] {
        var reader = Reader(bytes: bytes)
        try reader.expect("$D = {")
        var entries: [Entry] = []
        reader.skipSpace()
        if !reader.next(is: "}") {
            repeat {
                reader.skipSpace()
                let key = try reader.quoted()
                reader.skipSpace()
                try reader.expect("=>")
                reader.skipSpace()
                let start = reader.index
                let value = try reader.value(depth: 1)
                entries.append(Entry(key: String(decoding: key, as: UTF8.self), text: Array(bytes[start..<reader.index]), value: value))
                reader.skipSpace()
            } while reader.take(",")
        }
        try reader.expect("};")
        try reader.expect(";$D")
        guard reader.index == bytes.count else { throw PerlFormatError("more after the session's data (shared references?)", at: reader.index) }
        return entries
    }

    /// The record of `entries`, as `Data::Dumper` with CGI::Session's settings writes it.
    public static func record(of entries: [Entry]) -> [UInt8] {
        var output = Array("$D = {".utf8)
        for (index, entry) in entries.enumerated() {
            if index > 0 { output.append(UInt8(ascii: ",")) }
            writeQuoted(Array(entry.key.utf8), to: &output)
            output += Array(" => ".utf8)
            output += entry.text
        }
        output += Array("};;$D".utf8)
        return output
    }

    /// `value` as `Data::Dumper` writes it: integers Perl would print bare bare, other numbers
    /// quoted, `true` and `false` as 1 and 0 (Perl has no booleans), null as `undef`.
    public static func text(of value: SessionValue) -> [UInt8] {
        var output: [UInt8] = []
        write(value, to: &output)
        return output
    }

    private static func write(_ value: SessionValue, to output: inout [UInt8]) {
        switch value {
        case .null: output += Array("undef".utf8)
        case .bool(let flag): output.append(flag ? UInt8(ascii: "1") : UInt8(ascii: "0"))
        case .int(let number):
            // Data::Dumper leaves bare only what matches /^(?:0|-?[1-9]\d{0,8})$/.
            let digits = String(number)
            if abs(number) < 1_000_000_000 { output += Array(digits.utf8) } else { writeQuoted(Array(digits.utf8), to: &output) }
        case .double(let number): writeQuoted(Array(number.description.utf8), to: &output)
        case .string(let text): writeQuoted(Array(text.utf8), to: &output)
        case .array(let elements):
            output.append(UInt8(ascii: "["))
            for (index, element) in elements.enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                write(element, to: &output)
            }
            output.append(UInt8(ascii: "]"))
        case .object(let members):
            output.append(UInt8(ascii: "{"))
            for (index, member) in members.sorted(by: { $0.key < $1.key }).enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                writeQuoted(Array(member.key.utf8), to: &output)
                output += Array(" => ".utf8)
                write(member.value, to: &output)
            }
            output.append(UInt8(ascii: "}"))
        }
    }

    private static func writeQuoted(_ bytes: [UInt8], to output: inout [UInt8]) {
        output.append(UInt8(ascii: "'"))
        for byte in bytes {
            if byte == UInt8(ascii: "'") || byte == UInt8(ascii: "\\") { output.append(UInt8(ascii: "\\")) }
            output.append(byte)
        }
        output.append(UInt8(ascii: "'"))
    }

    private struct Reader {
        let bytes: [UInt8]
        var index = 0

        func error(_ what: String) -> PerlFormatError { PerlFormatError(what, at: index) }

        mutating func skipSpace() {
            while index < bytes.count, bytes[index] == UInt8(ascii: " ") || bytes[index] == UInt8(ascii: "\n") { index += 1 }
        }

        func next(is text: String) -> Bool {
            bytes[index...].starts(with: text.utf8)
        }

        mutating func take(_ text: String) -> Bool {
            guard next(is: text) else { return false }
            index += text.utf8.count
            return true
        }

        mutating func expect(_ text: String) throws(PerlFormatError) {
            guard take(text) else { throw error("expected \(String(reflecting: text))") }
        }

        /// A value; nil for one a session value cannot hold (a blessed object, or one inside).
        mutating func value(depth: Int) throws(PerlFormatError) -> SessionValue? {
            guard depth < PerlDumper.maxDepth else { throw error("nesting deeper than \(PerlDumper.maxDepth)") }
            guard index < bytes.count else { throw error("the data ends too soon") }
            if take("undef") { return .null }
            if take("bless( ") {
                _ = try value(depth: depth + 1)
                try expect(", ")
                _ = try quoted()
                try expect(" )")
                return nil
            }
            switch bytes[index] {
            case UInt8(ascii: "'"), UInt8(ascii: "\""):
                let text = try quoted()
                guard let string = String(validating: text, as: UTF8.self) else { return nil }
                return .string(string)
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                let start = index
                if bytes[index] == UInt8(ascii: "-") { index += 1 }
                while index < bytes.count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") { index += 1 }
                guard let number = Int(String(decoding: bytes[start..<index], as: UTF8.self)) else {
                    index = start
                    throw error("a number out of range")
                }
                return .int(number)
            case UInt8(ascii: "["):
                index += 1
                var elements: [SessionValue] = []
                var representable = true
                skipSpace()
                if !take("]") {
                    repeat {
                        skipSpace()
                        if let element = try value(depth: depth + 1) { elements.append(element) } else { representable = false }
                        skipSpace()
                    } while take(",")
                    try expect("]")
                }
                return representable ? .array(elements) : nil
            case UInt8(ascii: "{"):
                index += 1
                var members: [String: SessionValue] = [:]
                var representable = true
                skipSpace()
                if !take("}") {
                    repeat {
                        skipSpace()
                        let key = try quoted()
                        skipSpace()
                        try expect("=>")
                        skipSpace()
                        let member = try value(depth: depth + 1)
                        if let member, let name = String(validating: key, as: UTF8.self) { members[name] = member } else { representable = false }
                        skipSpace()
                    } while take(",")
                    try expect("}")
                }
                return representable ? .object(members) : nil
            default:
                throw error("no value this reader accepts begins here (code, or a reference to a scalar?)")
            }
        }

        /// A single-quoted string (only `\\` and `\'` escaped), or a double-quoted one as
        /// Data::Dumper writes wide characters: `\x{…}` and the common escapes, no interpolation.
        mutating func quoted() throws(PerlFormatError) -> [UInt8] {
            guard index < bytes.count else { throw error("the data ends too soon") }
            let quote = bytes[index]
            guard quote == UInt8(ascii: "'") || quote == UInt8(ascii: "\"") else { throw error("expected a quoted string") }
            index += 1
            var text: [UInt8] = []
            while true {
                guard index < bytes.count else { throw error("a string without its end") }
                let byte = bytes[index]
                index += 1
                if byte == quote { return text }
                if quote == UInt8(ascii: "\""), byte == UInt8(ascii: "$") || byte == UInt8(ascii: "@") {
                    throw error("an interpolation, which is code")
                }
                guard byte == UInt8(ascii: "\\") else { text.append(byte); continue }
                guard index < bytes.count else { throw error("a string without its end") }
                let escaped = bytes[index]
                index += 1
                if quote == UInt8(ascii: "'") {
                    if escaped != UInt8(ascii: "'") && escaped != UInt8(ascii: "\\") { text.append(UInt8(ascii: "\\")) }
                    text.append(escaped)
                    continue
                }
                switch escaped {
                case UInt8(ascii: "n"): text.append(10)
                case UInt8(ascii: "t"): text.append(9)
                case UInt8(ascii: "r"): text.append(13)
                case UInt8(ascii: "0"): text.append(0)
                case UInt8(ascii: "x"):
                    try expect("{")
                    let start = index
                    while index < bytes.count, bytes[index] != UInt8(ascii: "}") { index += 1 }
                    guard let code = UInt32(String(decoding: bytes[start..<index], as: UTF8.self), radix: 16),
                          let scalar = Unicode.Scalar(code) else { throw error("a bad \\x{…} escape") }
                    try expect("}")
                    text += Array(String(Character(scalar)).utf8)
                default: text.append(escaped)
                }
            }
        }
    }
}
