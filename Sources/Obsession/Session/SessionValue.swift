/// A value stored in a session: JSON's kinds, written with Swift literals.
///
/// Changing a value nested inside the session goes through the session's subscript, so the
/// session sees every change:
///
/// ```swift
/// session["user"] = "ann"
/// session["cart"] = [1, 2, 3]
/// session["cart"]?.append(4)                 // the session is marked changed
/// session["prefs"] = ["theme": "dark", "size": 12]
/// session["prefs"]?["theme"] = "light"
/// let count = session["visits"]?.intValue ?? 0
/// ```
public enum SessionValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([SessionValue])
    case object([String: SessionValue])

    /// The integer, if this is one.
    public var intValue: Int? { if case .int(let value) = self { value } else { nil } }
    /// The integer, if this is one or a string of one: what the session layer's own records
    /// (times) read as, for a store whose format writes large numbers as strings (Perl's).
    var recordedInt: Int? {
        switch self {
        case .int(let value): value
        case .string(let text): Int(text)
        default: nil
        }
    }
    /// The number as a double, if this is an integer or a double.
    public var doubleValue: Double? {
        switch self {
        case .int(let value): Double(value)
        case .double(let value): value
        default: nil
        }
    }
    /// The string, if this is one.
    public var stringValue: String? { if case .string(let value) = self { value } else { nil } }
    /// The Boolean, if this is one.
    public var boolValue: Bool? { if case .bool(let value) = self { value } else { nil } }
    /// The elements, if this is an array.
    public var arrayValue: [SessionValue]? { if case .array(let value) = self { value } else { nil } }
    /// The members, if this is an object.
    public var objectValue: [String: SessionValue]? { if case .object(let value) = self { value } else { nil } }

    /// Appends to an array value; does nothing to any other kind.
    ///
    /// ```swift
    /// session["cart"]?.append(4)
    /// ```
    public mutating func append(_ element: SessionValue) {
        guard case .array(var elements) = self else { return }
        elements.append(element)
        self = .array(elements)
    }

    /// A member of an object value; setting on any other kind does nothing.
    ///
    /// ```swift
    /// session["prefs"]?["theme"] = "light"
    /// ```
    public subscript(key: String) -> SessionValue? {
        get { objectValue?[key] }
        set {
            guard case .object(var members) = self else { return }
            members[key] = newValue
            self = .object(members)
        }
    }

    /// The deepest nesting a session stores, counting the session's own object as level 0: a
    /// value under a key is at level 1, and nothing may reach level 100. The file store's JSON
    /// reads no deeper, so a deeper value would save and then fail to load, logging its user
    /// out; and no reader or writer recurses further, so no value exhausts the stack.
    public static let maxDepth = 100

    /// Throws ``SessionError/coding(_:)`` if this value, stored under `key`, nests deeper than
    /// ``maxDepth``. Looks no deeper than that.
    ///
    /// ```swift
    /// try value.checkDepth(under: "cart")
    /// ```
    public func checkDepth(under key: String) throws(SessionError) {
        guard fits(atLevel: 1) else {
            throw .coding(JSON.DepthError(key: key).description)
        }
    }

    private func fits(atLevel level: Int) -> Bool {
        guard level < Self.maxDepth else { return false }
        switch self {
        case .array(let elements): return elements.allSatisfy { $0.fits(atLevel: level + 1) }
        case .object(let members): return members.values.allSatisfy { $0.fits(atLevel: level + 1) }
        default: return true
        }
    }

    /// An element of an array value.
    ///
    /// ```swift
    /// let first = session["cart"]?[0]
    /// ```
    public subscript(index: Int) -> SessionValue? {
        get {
            guard case .array(let elements) = self, elements.indices.contains(index) else { return nil }
            return elements[index]
        }
        set {
            guard case .array(var elements) = self, elements.indices.contains(index) else { return }
            elements[index] = newValue ?? .null
            self = .array(elements)
        }
    }
}

extension SessionValue: ExpressibleByNilLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByFloatLiteral, ExpressibleByStringLiteral, ExpressibleByArrayLiteral,
    ExpressibleByDictionaryLiteral {
    public init(nilLiteral: ()) { self = .null }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(integerLiteral value: Int) { self = .int(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(stringLiteral value: String) { self = .string(value) }
    public init(arrayLiteral elements: SessionValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, SessionValue)...) {
        self = .object(Dictionary(elements) { $1 })
    }
}

extension SessionValue: CustomStringConvertible {
    /// The value as JSON text; for a value nested deeper than a session can store, a note
    /// saying so.
    public var description: String {
        do {
            return String(decoding: try JSON.encode(self), as: UTF8.self)
        } catch {
            return "<\(error)>"
        }
    }
}
