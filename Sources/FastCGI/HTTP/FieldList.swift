/// An ordered list of name–value pairs in which a name may appear more than once: query items,
/// form fields, cookies.
///
/// The subscript gives the first value for a name; ``values(for:)`` gives all of them, in order:
///
/// ```swift
/// let query = FieldList([("tag", "a"), ("tag", "b"), ("page", "2")])
/// query["tag"]              // "a"
/// query.values(for: "tag")  // ["a", "b"]
/// for field in query { print(field.name, field.value) }
/// ```
public struct FieldList: Sendable, Equatable, RandomAccessCollection, ExpressibleByDictionaryLiteral {
    /// One name–value pair.
    ///
    /// ```swift
    /// let field = FieldList.Field(name: "page", value: "2")
    /// ```
    public struct Field: Sendable, Equatable, Hashable {
        /// The field's name, decoded.
        public var name: String
        /// The field's value, decoded.
        public var value: String

        /// Makes a field.
        ///
        /// ```swift
        /// let field = FieldList.Field(name: "page", value: "2")
        /// ```
        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    /// The pairs, in the order they came.
    public var fields: [Field]

    /// Makes a list from pairs, keeping their order.
    ///
    /// ```swift
    /// let list = FieldList([("a", "1"), ("a", "2")])
    /// ```
    public init(_ pairs: [(String, String)] = []) {
        fields = pairs.map { Field(name: $0.0, value: $0.1) }
    }

    /// Makes a list from a literal.
    ///
    /// ```swift
    /// let list: FieldList = ["a": "1", "b": "2"]
    /// ```
    public init(dictionaryLiteral elements: (String, String)...) {
        self.init(elements)
    }

    /// The first value under `name`, or nil.
    ///
    /// ```swift
    /// let page = request.query["page"] ?? "1"
    /// ```
    public subscript(name: String) -> String? {
        fields.first { $0.name == name }?.value
    }

    /// Every value under `name`, in order.
    ///
    /// ```swift
    /// let tags = request.query.values(for: "tag")
    /// ```
    public func values(for name: String) -> [String] {
        fields.lazy.filter { $0.name == name }.map(\.value)
    }

    /// Adds a pair at the end.
    ///
    /// ```swift
    /// var list = FieldList()
    /// list.append(name: "a", value: "1")
    /// ```
    public mutating func append(name: String, value: String) {
        fields.append(Field(name: name, value: value))
    }

    public var startIndex: Int { fields.startIndex }
    public var endIndex: Int { fields.endIndex }
    public subscript(position: Int) -> Field { fields[position] }
}
