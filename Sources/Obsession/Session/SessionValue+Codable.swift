extension Session {
    /// Stores an application's own `Encodable` value under `key`, as a ``SessionValue``.
    ///
    /// Throws ``SessionError/coding(_:)``, and stores nothing, for a value the session could not
    /// read back: one nested deeper than ``SessionValue/maxDepth``. (A value set through the
    /// subscript is checked when the session is saved, which then fails the same way.)
    ///
    /// ```swift
    /// struct Cart: Codable { var items: [String]; var total: Int }
    /// try session.set(Cart(items: ["tea"], total: 4), forKey: "cart")
    /// ```
    public func set(_ value: some Encodable, forKey key: String) throws {
        let encoded = try SessionValueEncoder.encode(value)
        try encoded.checkDepth(under: key)
        self[key] = encoded
    }

    /// Reads back a `Decodable` value stored under `key`; nil if there is none.
    ///
    /// Throws ``SessionError/coding(_:)`` if the stored value does not have the type's shape.
    ///
    /// ```swift
    /// let cart = try session.get(Cart.self, forKey: "cart") ?? Cart(items: [], total: 0)
    /// ```
    public func get<T: Decodable>(_ type: T.Type, forKey key: String) throws -> T? {
        guard let value = self[key] else { return nil }
        return try SessionValueDecoder.decode(type, from: value)
    }
}

extension SessionValue: Codable {
    /// Decodes JSON-shaped data into a value (any decoder).
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let flag = try? container.decode(Bool.self) { self = .bool(flag) }
        else if let integer = try? container.decode(Int.self) { self = .int(integer) }
        else if let number = try? container.decode(Double.self) { self = .double(number) }
        else if let text = try? container.decode(String.self) { self = .string(text) }
        else if let elements = try? container.decode([SessionValue].self) { self = .array(elements) }
        else { self = .object(try container.decode([String: SessionValue].self)) }
    }

    /// Encodes the value as its JSON shape (any encoder).
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let flag): try container.encode(flag)
        case .int(let integer): try container.encode(integer)
        case .double(let number): try container.encode(number)
        case .string(let text): try container.encode(text)
        case .array(let elements): try container.encode(elements)
        case .object(let members): try container.encode(members)
        }
    }
}
