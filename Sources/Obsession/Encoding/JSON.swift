/// JSON text for session values (RFC 8259), without Foundation: the session's stored form.
package enum JSON {
    /// Why a text is not JSON this parser accepts.
    package struct SyntaxError: Error, CustomStringConvertible {
        package let description: String
    }

    /// Why a value cannot be written: it nests deeper than the reader accepts, so it would save
    /// and then fail to load, logging its user out.
    package struct DepthError: Error, CustomStringConvertible {
        /// The session key whose value is too deep, when the value written was a session's data.
        package var key: String?

        package var description: String {
            let value = key.map { "the value under \(String(reflecting: $0))" } ?? "the value"
            return "\(value) nests deeper than \(JSON.maxDepth) levels"
        }
    }

    /// Deepest nesting accepted, counted from the outermost value (a session's data object) at
    /// level 0: a value at level `maxDepth` is refused, by the writer as by the reader. Neither
    /// recurses further, so no input and no value can exhaust the stack.
    static let maxDepth = SessionValue.maxDepth

    /// The value as JSON text; throws ``DepthError`` for a value nested deeper than ``maxDepth``.
    package static func encode(_ value: SessionValue) throws(DepthError) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(64)
        try write(value, depth: 0, to: &output)
        return output
    }

    private static func write(_ value: SessionValue, depth: Int, to output: inout [UInt8]) throws(DepthError) {
        guard depth < maxDepth else { throw DepthError() }
        switch value {
        case .null: output += "null".utf8
        case .bool(let flag): output += (flag ? "true" : "false").utf8
        case .int(let number): output += String(number).utf8
        case .double(let number):
            output += (number.isFinite ? "\(number)" : "null").utf8
        case .string(let text): writeString(text, to: &output)
        case .array(let elements):
            output.append(UInt8(ascii: "["))
            for (index, element) in elements.enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                try write(element, depth: depth + 1, to: &output)
            }
            output.append(UInt8(ascii: "]"))
        case .object(let members):
            output.append(UInt8(ascii: "{"))
            if members.count == 1, let (key, value) = members.first {
                // One member needs no sorting, and no array of keys to sort.
                try writeMember(key, value, depth: depth, to: &output)
            } else {
                for (index, key) in members.keys.sorted().enumerated() {
                    if index > 0 { output.append(UInt8(ascii: ",")) }
                    try writeMember(key, members[key]!, depth: depth, to: &output)
                }
            }
            output.append(UInt8(ascii: "}"))
        }
    }

    /// One member of an object at level `depth`; a top-level member names itself in a depth error.
    private static func writeMember(_ key: String, _ value: SessionValue, depth: Int, to output: inout [UInt8]) throws(DepthError) {
        writeString(key, to: &output)
        output.append(UInt8(ascii: ":"))
        do {
            try write(value, depth: depth + 1, to: &output)
        } catch {
            throw DepthError(key: error.key ?? (depth == 0 ? key : nil))
        }
    }

    private static func writeString(_ text: String, to output: inout [UInt8]) {
        output.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): output += "\\\"".utf8
            case UInt8(ascii: "\\"): output += "\\\\".utf8
            case 0x0A: output += "\\n".utf8
            case 0x0D: output += "\\r".utf8
            case 0x09: output += "\\t".utf8
            case 0..<0x20: output += "\\u00".utf8 + [hexDigits[Int(byte >> 4)], hexDigits[Int(byte & 15)]]
            default: output.append(byte)
            }
        }
        output.append(UInt8(ascii: "\""))
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    package static func decode(_ bytes: some Collection<UInt8>) throws(SyntaxError) -> SessionValue {
        var parser = Parser(bytes: Array(bytes))
        let value = try parser.value(depth: 0)
        parser.skipSpace()
        guard parser.index == parser.bytes.count else { throw parser.error("trailing characters") }
        return value
    }

    private struct Parser {
        let bytes: [UInt8]
        var index = 0

        func error(_ what: String) -> SyntaxError { SyntaxError(description: "\(what) at byte \(index)") }

        mutating func skipSpace() {
            while index < bytes.count {
                switch bytes[index] {
                case 0x20, 0x09, 0x0A, 0x0D: index += 1
                default: return
                }
            }
        }

        mutating func value(depth: Int) throws(SyntaxError) -> SessionValue {
            guard depth < JSON.maxDepth else { throw error("nesting deeper than \(JSON.maxDepth)") }
            skipSpace()
            guard index < bytes.count else { throw error("unexpected end") }
            switch bytes[index] {
            case UInt8(ascii: "n"): try literal("null"); return .null
            case UInt8(ascii: "t"): try literal("true"); return .bool(true)
            case UInt8(ascii: "f"): try literal("false"); return .bool(false)
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "["):
                index += 1
                var elements: [SessionValue] = []
                skipSpace()
                if skip(UInt8(ascii: "]")) { return .array(elements) }
                while true {
                    elements.append(try value(depth: depth + 1))
                    skipSpace()
                    guard index < bytes.count else { throw error("unterminated array") }
                    let separator = bytes[index]
                    index += 1
                    if separator == UInt8(ascii: "]") { return .array(elements) }
                    guard separator == UInt8(ascii: ",") else { throw error("expected , or ]") }
                }
            case UInt8(ascii: "{"):
                index += 1
                var members: [String: SessionValue] = [:]
                skipSpace()
                if skip(UInt8(ascii: "}")) { return .object(members) }
                while true {
                    skipSpace()
                    guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw error("expected a member name") }
                    let key = try string()
                    skipSpace()
                    guard skip(UInt8(ascii: ":")) else { throw error("expected :") }
                    members[key] = try value(depth: depth + 1)
                    skipSpace()
                    guard index < bytes.count else { throw error("unterminated object") }
                    let separator = bytes[index]
                    index += 1
                    if separator == UInt8(ascii: "}") { return .object(members) }
                    guard separator == UInt8(ascii: ",") else { throw error("expected , or }") }
                }
            default:
                return try number()
            }
        }

        mutating func literal(_ word: String) throws(SyntaxError) {
            let expected = Array(word.utf8)
            guard bytes.count - index >= expected.count, Array(bytes[index..<(index + expected.count)]) == expected else {
                throw error("expected \(word)")
            }
            index += expected.count
        }

        /// A number as RFC 8259 §6 writes it: `-`? (`0` | [1-9][0-9]*) (`.` [0-9]+)? ([eE] [+-]? [0-9]+)?.
        /// An integer that fits in an `Int` stays one; any other number is a finite `Double`.
        mutating func number() throws(SyntaxError) -> SessionValue {
            let start = index
            skip(UInt8(ascii: "-"))
            guard index < bytes.count, isDigit(bytes[index]) else { throw error("not a number") }
            if bytes[index] == UInt8(ascii: "0") {
                index += 1
                if index < bytes.count, isDigit(bytes[index]) { throw error("a number with a leading zero") }
            } else {
                try digits()
            }
            var isInteger = true
            if skip(UInt8(ascii: ".")) {
                isInteger = false
                try digits()
            }
            if skip(UInt8(ascii: "e")) || skip(UInt8(ascii: "E")) {
                isInteger = false
                if !skip(UInt8(ascii: "+")) { skip(UInt8(ascii: "-")) }
                try digits()
            }
            // Up to 18 digits always fit an Int: read them without making a string.
            if isInteger, index - start <= 18 {
                var magnitude = 0
                for byte in bytes[start..<index] where byte != UInt8(ascii: "-") { magnitude = magnitude * 10 + Int(byte - UInt8(ascii: "0")) }
                return .int(bytes[start] == UInt8(ascii: "-") ? -magnitude : magnitude)
            }
            let text = String(decoding: bytes[start..<index], as: UTF8.self)
            if isInteger, let integer = Int(text) { return .int(integer) }
            guard let double = Double(text), double.isFinite else { throw error("a number out of range") }
            return .double(double)
        }

        /// One or more digits.
        private mutating func digits() throws(SyntaxError) {
            guard index < bytes.count, isDigit(bytes[index]) else { throw error("a digit expected") }
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }

        private func isDigit(_ byte: UInt8) -> Bool {
            (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
        }

        /// Steps over `byte` if it comes next.
        @discardableResult
        private mutating func skip(_ byte: UInt8) -> Bool {
            guard index < bytes.count, bytes[index] == byte else { return false }
            index += 1
            return true
        }

        mutating func string() throws(SyntaxError) -> String {
            index += 1
            // Most strings hold no escape: make them straight from the input.
            var end = index
            while end < bytes.count, bytes[end] != UInt8(ascii: "\""), bytes[end] != UInt8(ascii: "\\"), bytes[end] >= 0x20 { end += 1 }
            if end < bytes.count, bytes[end] == UInt8(ascii: "\"") {
                defer { index = end + 1 }
                return String(decoding: bytes[index..<end], as: UTF8.self)
            }
            var output = Array(bytes[index..<end])
            index = end
            while index < bytes.count {
                let byte = bytes[index]
                index += 1
                switch byte {
                case UInt8(ascii: "\""):
                    return String(decoding: output, as: UTF8.self)
                case UInt8(ascii: "\\"):
                    guard index < bytes.count else { throw error("unterminated escape") }
                    let escaped = bytes[index]
                    index += 1
                    switch escaped {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): output.append(escaped)
                    case UInt8(ascii: "n"): output.append(0x0A)
                    case UInt8(ascii: "r"): output.append(0x0D)
                    case UInt8(ascii: "t"): output.append(0x09)
                    case UInt8(ascii: "b"): output.append(0x08)
                    case UInt8(ascii: "f"): output.append(0x0C)
                    case UInt8(ascii: "u"):
                        var scalar = try hex4()
                        // A high surrogate and the low one after it make one scalar. Any other
                        // escape after it is read on its own, and a lone surrogate becomes U+FFFD.
                        if (0xD800..<0xDC00).contains(scalar), index + 1 < bytes.count,
                           bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") {
                            let next = index
                            index += 2
                            let low = try hex4()
                            if (0xDC00..<0xE000).contains(low) {
                                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                            } else {
                                index = next
                            }
                        }
                        output += String(Character(Unicode.Scalar(scalar) ?? "\u{FFFD}")).utf8
                    default:
                        throw error("unknown escape")
                    }
                case 0..<0x20:
                    throw error("control character in a string")
                default:
                    output.append(byte)
                }
            }
            throw error("unterminated string")
        }

        /// The four hexadecimal digits of a `\\u` escape; nothing else (no sign, as `UInt32(_:radix:)`
        /// would take).
        mutating func hex4() throws(SyntaxError) -> UInt32 {
            guard bytes.count - index >= 4 else { throw error("bad \\u escape") }
            var value: UInt32 = 0
            for byte in bytes[index..<(index + 4)] {
                guard let digit = byte.hexDigitValue else { throw error("bad \\u escape") }
                value = value << 4 | UInt32(digit)
            }
            index += 4
            return value
        }
    }
}
