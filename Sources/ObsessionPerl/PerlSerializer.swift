public import Obsession

/// CGI::Session's serializers: how a session's hash is written in its file.
///
/// ```swift
/// let entries = try PerlSerializer.default.decode(bytes)
/// ```
public enum PerlSerializer: String, Sendable, CaseIterable {
    /// `CGI::Session::Serialize::default`: Data::Dumper text (see ``PerlDumper``).
    case `default`
    /// `CGI::Session::Serialize::json`: the hash as one JSON object.
    case json

    /// The hash's entries, in order.
    public func decode(_ bytes: [UInt8]) throws -> [PerlDumper.Entry] {
        switch self {
        case .default:
            return try PerlDumper.entries(of: bytes)
        case .json:
            guard case .object(let members) = try JSON.decode(bytes) else {
                throw PerlFormatError("the session is not a JSON object", at: 0)
            }
            return try members.sorted { $0.key < $1.key }.map { PerlDumper.Entry(key: $0.key, text: try JSON.encode($0.value), value: $0.value) }
        }
    }

    /// The file's bytes for `entries`.
    public func encode(_ entries: [PerlDumper.Entry]) throws -> [UInt8] {
        switch self {
        case .default:
            return PerlDumper.record(of: entries)
        case .json:
            var output: [UInt8] = [UInt8(ascii: "{")]
            for (index, entry) in entries.enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                output += try JSON.encode(.string(entry.key))
                output.append(UInt8(ascii: ":"))
                output += entry.text
            }
            output.append(UInt8(ascii: "}"))
            return output
        }
    }

    /// `value` as this serializer writes it.
    public func text(of value: SessionValue) throws -> [UInt8] {
        switch self {
        case .default: PerlDumper.text(of: value)
        case .json: try JSON.encode(value)
        }
    }
}
