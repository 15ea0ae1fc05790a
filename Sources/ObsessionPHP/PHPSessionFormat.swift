/// PHP's session serialize handlers (`session.serialize_handler`), and a session's data in
/// them: its top-level keys in order, each with its value as serialized, so that a key nobody
/// changed is written back byte for byte.
///
/// ```swift
/// let entries = try PHPSessionFormat.php.decode(Array(#"user|s:3:"ann";n|i:2;"#.utf8))
/// // [(key: "user", serialized: "s:3:\"ann\";"), (key: "n", serialized: "i:2;")]
/// let bytes = PHPSessionFormat.php.encode(entries)
/// ```
public enum PHPSessionFormat: String, Sendable, CaseIterable {
    /// `key|value` repeated: PHP's default.
    case php
    /// `serialize($_SESSION)`: one array.
    case phpSerialize = "php_serialize"

    /// One top-level key of a session and its value as serialized.
    public struct Entry: Sendable, Equatable {
        /// The key: a string (`php`), or a string or int (`php_serialize`).
        public var key: PHPValue.Key
        /// Its value as serialized, exactly as it was read or will be written.
        public var serialized: [UInt8]

        /// An entry.
        ///
        /// ```swift
        /// let entry = PHPSessionFormat.Entry(key: .string(Array("n".utf8)), serialized: PHPValue.int(2).serialized)
        /// ```
        public init(key: PHPValue.Key, serialized: [UInt8]) {
            self.key = key
            self.serialized = serialized
        }
    }

    /// The session's entries, each value checked to be one whole serialized value. Throws for
    /// anything malformed, so that a session is used whole or not at all; and for references
    /// (`r:`, `R:`), whose numbers count values across the whole session and would point
    /// elsewhere once a key before them changed.
    public func decode(_ bytes: [UInt8]) throws(PHPFormatError) -> [Entry] {
        var reader = try PHPReader(bytes)
        var entries: [Entry] = []
        switch self {
        case .php:
            while !reader.atEnd {
                guard let bar = bytes[reader.index...].firstIndex(of: UInt8(ascii: "|")) else {
                    throw PHPFormatError("a key without its |", at: reader.index)
                }
                let key = Array(bytes[reader.index..<bar])
                reader.skip(to: bar + 1)
                let start = reader.index
                _ = try reader.value(depth: 0)
                entries.append(Entry(key: .string(key), serialized: Array(bytes[start..<reader.index])))
            }
        case .phpSerialize:
            if bytes.isEmpty { return [] }
            entries = try reader.arrayEntries().map { Entry(key: $0.key, serialized: Array(bytes[$0.range])) }
            guard reader.atEnd else { throw PHPFormatError("bytes after the session's array", at: reader.index) }
        }
        guard !reader.sawReference else { throw PHPFormatError("a reference (r: or R:), which a change elsewhere would break", at: 0) }
        return entries
    }

    /// The session's data in this format. Under `php`, a key holding `|` (which PHP itself
    /// refuses to write) or an int key is refused.
    public func encode(_ entries: [Entry]) throws(PHPFormatError) -> [UInt8] {
        var output: [UInt8] = []
        switch self {
        case .php:
            for entry in entries {
                guard case .string(let key) = entry.key, !key.contains(UInt8(ascii: "|")) else {
                    throw PHPFormatError("the php handler cannot write the key \(entry.key)", at: output.count)
                }
                output += key
                output.append(UInt8(ascii: "|"))
                output += entry.serialized
            }
        case .phpSerialize:
            output += Array("a:\(entries.count):{".utf8)
            for entry in entries {
                PHPValue.write(entry.key, to: &output)
                output += entry.serialized
            }
            output.append(UInt8(ascii: "}"))
        }
        return output
    }
}
