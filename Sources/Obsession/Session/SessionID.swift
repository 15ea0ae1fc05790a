import Glibc

/// A session id: 40 characters of `A-Za-z0-9.-`, 240 bits from the kernel's random source. Anything else a client sends is not an id, and never reaches a backend.
///
/// ```swift
/// let fresh = SessionID.random()
/// let fromCookie = SessionID(validating: request.cookies["_obs"] ?? "")  // nil unless well-formed
/// ```
public struct SessionID: Sendable, Hashable, CustomStringConvertible {
    /// The id's characters.
    public let text: String

    /// The alphabet: 64 symbols, 6 bits each.
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.-".utf8)
    /// The length of every id.
    public static let length = 40

    /// Accepts `text` only if it is exactly 40 characters of the alphabet.
    ///
    /// ```swift
    /// SessionID(validating: "../../etc/passwd")  // nil
    /// ```
    public init?(validating text: String) {
        guard text.withUTF8Bytes(Self.isValid) else { return nil }
        self.text = text
    }

    /// Checks `bytes` as ``init(validating:)`` checks a string, and makes a string only of a
    /// valid id: what the cookie reader hands over.
    init?(validating bytes: UnsafeBufferPointer<UInt8>) {
        guard Self.isValid(bytes) else { return nil }
        self.text = String(decoding: bytes, as: UTF8.self)
    }

    private static func isValid(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        bytes.count == length && bytes.allSatisfy(isIdByte)
    }

    private init(trusted text: String) {
        self.text = text
    }

    /// A new id from the kernel's random source.
    ///
    /// ```swift
    /// let id = SessionID.random()
    /// ```
    public static func random() -> SessionID {
        let bytes = randomBytes(30)
        // 30 bytes = 240 bits = 40 symbols of 6 bits, written straight into the string.
        let text = String(unsafeUninitializedCapacity: length) { symbols in
            for group in 0..<10 {
                let bits = UInt32(bytes[3 * group]) << 16 | UInt32(bytes[3 * group + 1]) << 8 | UInt32(bytes[3 * group + 2])
                symbols[4 * group] = alphabet[Int(bits >> 18 & 63)]
                symbols[4 * group + 1] = alphabet[Int(bits >> 12 & 63)]
                symbols[4 * group + 2] = alphabet[Int(bits >> 6 & 63)]
                symbols[4 * group + 3] = alphabet[Int(bits & 63)]
            }
            return length
        }
        return SessionID(trusted: text)
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

    static func isIdByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "-"): true
        default: false
        }
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
