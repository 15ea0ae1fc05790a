/// Reads a `Decodable` value back from a ``SessionValue``.
struct SessionValueDecoder: Decoder {
    let value: SessionValue
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    static func decode<T: Decodable>(_ type: T.Type, from value: SessionValue) throws -> T {
        try decodeValue(type, from: value, codingPath: [])
    }

    static func decodeValue<T: Decodable>(_ type: T.Type, from value: SessionValue, codingPath: [any CodingKey]) throws -> T {
        func mismatch() -> SessionError {
            SessionError.coding("expected \(T.self) at \(codingPath.map(\.stringValue)), found \(value)")
        }
        switch type {
        case is SessionValue.Type: return value as! T
        case is Bool.Type: guard let flag = value.boolValue else { throw mismatch() }; return flag as! T
        case is String.Type: guard let text = value.stringValue else { throw mismatch() }; return text as! T
        case is Double.Type: guard let number = value.doubleValue else { throw mismatch() }; return number as! T
        case is Float.Type: guard let number = value.doubleValue else { throw mismatch() }; return Float(number) as! T
        case let integer as any FixedWidthInteger.Type:
            guard let number = value.intValue, let converted = integer.init(exactly: number) else { throw mismatch() }
            return converted as! T
        default:
            return try T(from: SessionValueDecoder(value: value, codingPath: codingPath))
        }
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard let members = value.objectValue else { throw SessionError.coding("expected an object at \(codingPath.map(\.stringValue)), found \(value)") }
        return KeyedDecodingContainer(Keyed(members: members, codingPath: codingPath))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard let elements = value.arrayValue else { throw SessionError.coding("expected an array at \(codingPath.map(\.stringValue)), found \(value)") }
        return Unkeyed(elements: elements, codingPath: codingPath)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer { Single(value: value, codingPath: codingPath) }

    struct Keyed<Key: CodingKey>: KeyedDecodingContainerProtocol {
        let members: [String: SessionValue]
        let codingPath: [any CodingKey]
        var allKeys: [Key] { members.keys.compactMap { Key(stringValue: $0) } }

        func contains(_ key: Key) -> Bool { members[key.stringValue] != nil }

        private func member(_ key: Key) throws -> SessionValue {
            guard let value = members[key.stringValue] else {
                throw SessionError.coding("no \(key.stringValue) at \(codingPath.map(\.stringValue))")
            }
            return value
        }

        func decodeNil(forKey key: Key) throws -> Bool { (members[key.stringValue] ?? .null) == .null }
        func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
            try SessionValueDecoder.decodeValue(type, from: member(key), codingPath: codingPath + [key])
        }
        func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
            try SessionValueDecoder(value: member(key), codingPath: codingPath + [key]).container(keyedBy: type)
        }
        func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
            try SessionValueDecoder(value: member(key), codingPath: codingPath + [key]).unkeyedContainer()
        }
        func superDecoder() throws -> any Decoder { SessionValueDecoder(value: members["super"] ?? .null, codingPath: codingPath) }
        func superDecoder(forKey key: Key) throws -> any Decoder { SessionValueDecoder(value: try member(key), codingPath: codingPath + [key]) }
    }

    struct Unkeyed: UnkeyedDecodingContainer {
        let elements: [SessionValue]
        let codingPath: [any CodingKey]
        var currentIndex = 0
        var count: Int? { elements.count }
        var isAtEnd: Bool { currentIndex >= elements.count }

        private mutating func next() throws -> SessionValue {
            guard !isAtEnd else { throw SessionError.coding("too few elements at \(codingPath.map(\.stringValue))") }
            defer { currentIndex += 1 }
            return elements[currentIndex]
        }

        mutating func decodeNil() throws -> Bool {
            guard !isAtEnd, elements[currentIndex] == .null else { return false }
            currentIndex += 1
            return true
        }
        mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
            try SessionValueDecoder.decodeValue(type, from: next(), codingPath: codingPath)
        }
        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
            try SessionValueDecoder(value: next(), codingPath: codingPath).container(keyedBy: type)
        }
        mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
            try SessionValueDecoder(value: next(), codingPath: codingPath).unkeyedContainer()
        }
        mutating func superDecoder() throws -> any Decoder { SessionValueDecoder(value: try next(), codingPath: codingPath) }
    }

    struct Single: SingleValueDecodingContainer {
        let value: SessionValue
        let codingPath: [any CodingKey]

        func decodeNil() -> Bool { value == .null }
        func decode<T: Decodable>(_ type: T.Type) throws -> T {
            try SessionValueDecoder.decodeValue(type, from: value, codingPath: codingPath)
        }
    }
}
