/// One line of the status page that a responder adds (``Responder/status()``): the session
/// store's kind and health, say.
///
/// ```swift
/// StatusField(name: "store_healthy", value: .number(1), help: "Whether the session store answered.")
/// ```
public struct StatusField: Sendable, Equatable {
    /// A field's value: a number (a gauge, in OpenMetrics) or a word (an info label).
    public enum Value: Sendable, Equatable {
        /// A count or a time: a gauge (or a counter) in OpenMetrics.
        case number(Int)
        /// A word: an info metric's label in OpenMetrics.
        case text(String)
    }

    /// Its name: lowercase letters, digits and `_`.
    public let name: String
    /// Its value.
    public let value: Value
    /// What it means, one sentence.
    public let help: String

    /// Makes a field.
    ///
    /// ```swift
    /// let field = StatusField(name: "sessions", value: .number(42), help: "Sessions stored.")
    /// ```
    public init(name: String, value: Value, help: String) {
        self.name = name
        self.value = value
        self.help = help
    }
}
