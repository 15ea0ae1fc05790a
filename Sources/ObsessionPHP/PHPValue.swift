/// A value as PHP's `serialize()` writes it, and as PHP's session handlers store it.
///
/// Objects, enums and references (`O:`, `C:`, `E:`, `r:`, `R:`) are never interpreted: they
/// are ``opaque(_:)``, their bytes kept exactly, so that writing a session back leaves a PHP
/// `User` object as PHP wrote it. Arrays keep PHP's order and key kinds.
///
/// ```swift
/// let cart = try PHPValue(serialized: Array(#"a:2:{i:0;s:5:"apple";i:1;s:4:"pear";}"#.utf8))
/// let text = String(decoding: cart.serialized, as: UTF8.self)  // the same text back
/// ```
public enum PHPValue: Sendable, Equatable {
    /// `N;`
    case null
    /// `b:0;` or `b:1;`
    case bool(Bool)
    /// `i:42;`
    case int(Int)
    /// `d:0.1;`, with `NAN`, `INF` and `-INF`.
    case double(Double)
    /// A PHP string: bytes, not necessarily UTF-8.
    case string([UInt8])
    /// A PHP array: its entries in order.
    case array([Entry])
    /// An object, enum or reference, as serialized.
    case opaque([UInt8])

    /// One entry of a PHP array.
    public struct Entry: Sendable, Equatable {
        /// The entry's key.
        public var key: Key
        /// The entry's value.
        public var value: PHPValue

        /// An entry.
        ///
        /// ```swift
        /// let entry = PHPValue.Entry(key: .int(0), value: .string(Array("apple".utf8)))
        /// ```
        public init(key: Key, value: PHPValue) {
            self.key = key
            self.value = value
        }
    }

    /// A PHP array key: an integer, or a string that is not a canonical decimal integer (PHP
    /// turns `"5"` into `5` itself).
    public enum Key: Sendable, Hashable {
        /// `i:5;`
        case int(Int)
        /// `s:1:"a";`, bytes.
        case string([UInt8])

        /// The key PHP makes of `text`: an int for a canonical decimal integer, else the string.
        ///
        /// ```swift
        /// PHPValue.Key("5") == .int(5); PHPValue.Key("05") == .string(Array("05".utf8))
        /// ```
        public init(_ text: String) {
            if let number = Int(text), String(number) == text { self = .int(number) } else { self = .string(Array(text.utf8)) }
        }
    }
}
