/// Turns an `Encodable` value into a ``SessionValue``: structs and dictionaries become objects,
/// arrays arrays, numbers, strings and Booleans themselves, nil `.null`.
struct SessionValueEncoder {
    static func encode(_ value: some Encodable) throws -> SessionValue {
        let root = Node()
        try encodeValue(value, into: root, codingPath: [])
        return root.finished
    }

    /// A value under construction, shared by the containers that fill it.
    final class Node {
        var value: SessionValue = .null
        var members: [String: Node]?
        var elements: [Node]?

        var finished: SessionValue {
            if let members { return .object(members.mapValues(\.finished)) }
            if let elements { return .array(elements.map(\.finished)) }
            return value
        }
    }

    struct NodeEncoder: Encoder {
        let node: Node
        let codingPath: [any CodingKey]
        var userInfo: [CodingUserInfoKey: Any] { [:] }

        func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
            if node.members == nil { node.members = [:] }
            return KeyedEncodingContainer(Keyed(node: node, codingPath: codingPath))
        }

        func unkeyedContainer() -> any UnkeyedEncodingContainer {
            if node.elements == nil { node.elements = [] }
            return Unkeyed(node: node, codingPath: codingPath)
        }

        func singleValueContainer() -> any SingleValueEncodingContainer { Single(node: node, codingPath: codingPath) }
    }

    struct Keyed<Key: CodingKey>: KeyedEncodingContainerProtocol {
        let node: Node
        let codingPath: [any CodingKey]

        private func child(_ key: Key) -> Node {
            let child = Node()
            node.members![key.stringValue] = child
            return child
        }

        mutating func encodeNil(forKey key: Key) throws { child(key).value = .null }
        mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
            try encodeValue(value, into: child(key), codingPath: codingPath + [key])
        }
        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
            NodeEncoder(node: child(key), codingPath: codingPath + [key]).container(keyedBy: keyType)
        }
        mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
            NodeEncoder(node: child(key), codingPath: codingPath + [key]).unkeyedContainer()
        }
        mutating func superEncoder() -> any Encoder { NodeEncoder(node: child(Key(stringValue: "super")!), codingPath: codingPath) }
        mutating func superEncoder(forKey key: Key) -> any Encoder { NodeEncoder(node: child(key), codingPath: codingPath + [key]) }
    }

    struct Unkeyed: UnkeyedEncodingContainer {
        let node: Node
        let codingPath: [any CodingKey]
        var count: Int { node.elements!.count }

        private func child() -> Node {
            let child = Node()
            node.elements!.append(child)
            return child
        }

        mutating func encodeNil() throws { child().value = .null }
        mutating func encode<T: Encodable>(_ value: T) throws { try encodeValue(value, into: child(), codingPath: codingPath) }
        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
            NodeEncoder(node: child(), codingPath: codingPath).container(keyedBy: keyType)
        }
        mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
            NodeEncoder(node: child(), codingPath: codingPath).unkeyedContainer()
        }
        mutating func superEncoder() -> any Encoder { NodeEncoder(node: child(), codingPath: codingPath) }
    }

    struct Single: SingleValueEncodingContainer {
        let node: Node
        let codingPath: [any CodingKey]

        mutating func encodeNil() throws { node.value = .null }
        mutating func encode<T: Encodable>(_ value: T) throws { try encodeValue(value, into: node, codingPath: codingPath) }
    }

    /// Writes a leaf directly, or lets a compound value encode itself into `node`.
    static func encodeValue<T: Encodable>(_ value: T, into node: Node, codingPath: [any CodingKey]) throws {
        switch value {
        case let value as SessionValue: node.value = value
        case let value as Bool: node.value = .bool(value)
        case let value as String: node.value = .string(value)
        case let value as Double: node.value = .double(value)
        case let value as Float: node.value = .double(Double(value))
        case let value as any BinaryInteger:
            guard let integer = Int(exactly: value) else {
                throw SessionError.coding("\(value) at \(codingPath.map(\.stringValue)) does not fit an Int")
            }
            node.value = .int(integer)
        default:
            try value.encode(to: NodeEncoder(node: node, codingPath: codingPath))
        }
    }
}

private func encodeValue<T: Encodable>(_ value: T, into node: SessionValueEncoder.Node, codingPath: [any CodingKey]) throws {
    try SessionValueEncoder.encodeValue(value, into: node, codingPath: codingPath)
}
