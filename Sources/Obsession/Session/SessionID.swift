import Glibc

/// A session id: by default (``SessionIDFormat/obsession``) 40 characters of `A-Za-z0-9.-`,
/// 240 bits from the kernel's random source; a store shared with another language may use that
/// language's format. Anything else a client sends is not an id, and never reaches a backend.
///
/// ```swift
/// let fresh = SessionID.random()
/// let fromCookie = SessionID(validating: request.cookies["_obs"] ?? "")  // nil unless well-formed
/// ```
public struct SessionID: Sendable, Hashable, CustomStringConvertible {
    /// The id's characters.
    public let text: String

    /// The length of every id of the default format.
    public static let length = SessionIDFormat.obsession.length

    /// Accepts `text` only if it is an id of the default format: 40 characters of `A-Za-z0-9.-`.
    ///
    /// ```swift
    /// SessionID(validating: "../../etc/passwd")  // nil
    /// ```
    public init?(validating text: String) {
        self.init(validating: text, format: .obsession)
    }

    /// Accepts `text` only if it is an id of `format`: exactly its length, of its alphabet.
    ///
    /// ```swift
    /// SessionID(validating: "0123456789abcdef0123456789abcdef", format: .php())  // a PHP id
    /// ```
    public init?(validating text: String, format: SessionIDFormat) {
        guard text.withUTF8Bytes(format.isValid) else { return nil }
        self.text = text
    }

    /// Checks `bytes` as ``init(validating:format:)`` checks a string, and makes a string only
    /// of a valid id: what the cookie reader hands over.
    init?(validating bytes: UnsafeBufferPointer<UInt8>, format: SessionIDFormat) {
        guard format.isValid(bytes) else { return nil }
        self.text = String(decoding: bytes, as: UTF8.self)
    }

    /// An id made here, from the random source.
    init(trusted text: String) {
        self.text = text
    }

    /// A new id of the default format from the kernel's random source.
    ///
    /// ```swift
    /// let id = SessionID.random()
    /// ```
    public static func random() -> SessionID {
        SessionIDFormat.obsession.random()
    }

    public var description: String { text }

    /// A short tag for log lines: eight hexadecimal digits of a hash of the id. An id is a
    /// bearer credential and never goes to a log; its tag tells one session's lines from
    /// another's and gives away nothing of the id (its 240 bits stay unguessable).
    ///
    /// ```swift
    /// request.log("session \(session.id.tag) refused")   // "session 3fa9c2e1 refused"
    /// ```
    public var tag: String {
        var hash = FNV1a()
        hash.add(text.utf8)
        let digits = String(hash.value >> 32, radix: 16)
        return String(repeating: "0", count: 8 - digits.count) + digits
    }

    /// Whether `byte` can be in an id of the default format.
    static func isIdByte(_ byte: UInt8) -> Bool {
        SessionIDFormat.obsession.isSymbol(byte)
    }
}

/// `/dev/urandom`, opened once for the process (Swift's Glibc module does not declare
/// `getrandom`).
private let randomSource: Int32 = {
    let descriptor = open("/dev/urandom", O_RDONLY | O_CLOEXEC)
    precondition(descriptor >= 0, "cannot open /dev/urandom: session ids need the kernel's random source")
    return descriptor
}()

/// `count` bytes from the kernel's random source.
func randomBytes(_ count: Int) -> [UInt8] {
    var bytes = [UInt8](repeating: 0, count: count)
    var filled = 0
    while filled < count {
        let got = bytes.withUnsafeMutableBytes { read(randomSource, $0.baseAddress! + filled, count - filled) }
        if got > 0 { filled += got } else if errno != EINTR { fatalError("cannot read /dev/urandom: \(errno)") }
    }
    return bytes
}
