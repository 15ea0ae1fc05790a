public import Obsession

extension PHPValue {
    /// The value as a Swift page sees it: PHP's scalars as they are, a string that is UTF-8 as a
    /// string, an array whose keys are 0…n-1 in order as an array, any other array as an object
    /// (int keys written in decimal). Nil for what a session value cannot hold faithfully: an
    /// object, enum or reference, a string that is not UTF-8, or an array holding one.
    ///
    /// ```swift
    /// PHPValue.array([.init(key: .int(0), value: .int(7))]).sessionValue  // [7]
    /// ```
    public var sessionValue: SessionValue? {
        switch self {
        case .null: return .null
        case .bool(let value): return .bool(value)
        case .int(let value): return .int(value)
        case .double(let value): return .double(value)
        case .string(let bytes): return String(validating: bytes, as: UTF8.self).map { .string($0) }
        case .opaque: return nil
        case .array(let entries):
            if entries.enumerated().allSatisfy({ $0.element.key == .int($0.offset) }) {
                var elements: [SessionValue] = []
                elements.reserveCapacity(entries.count)
                for entry in entries {
                    guard let value = entry.value.sessionValue else { return nil }
                    elements.append(value)
                }
                return .array(elements)
            }
            var members: [String: SessionValue] = [:]
            for entry in entries {
                guard let value = entry.value.sessionValue else { return nil }
                switch entry.key {
                case .int(let key): members[String(key)] = value
                case .string(let key):
                    guard let text = String(validating: key, as: UTF8.self) else { return nil }
                    members[text] = value
                }
            }
            return .object(members)
        }
    }

    /// A session value as PHP holds it: an array as a list, an object as an array whose keys
    /// PHP would make of its members' names (`"5"` becomes `5`), in name order.
    ///
    /// ```swift
    /// PHPValue(SessionValue.object(["5": 1, "b": 2])).serialized  // a:2:{i:5;i:1;s:1:"b";i:2;}
    /// ```
    public init(_ value: SessionValue) {
        switch value {
        case .null: self = .null
        case .bool(let value): self = .bool(value)
        case .int(let value): self = .int(value)
        case .double(let value): self = .double(value)
        case .string(let text): self = .string(Array(text.utf8))
        case .array(let elements):
            self = .array(elements.enumerated().map { Entry(key: .int($0.offset), value: PHPValue($0.element)) })
        case .object(let members):
            self = .array(members.sorted { $0.key < $1.key }.map { Entry(key: Key($0.key), value: PHPValue($0.value)) })
        }
    }
}
