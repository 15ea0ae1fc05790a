/// What a store's session ids look like: a length and an alphabet of 16, 32 or 64 symbols, each
/// symbol a whole number of random bits. Ids are only ever made from the kernel's random source
/// in this format, and a client's id is looked up only if it has it.
///
/// Ours (``obsession``) is 40 symbols of `A-Za-z0-9.-`, 240 bits. A store shared with PHP uses
/// PHP's (``php(length:bitsPerCharacter:)``), so that PHP's pages accept the ids Swift makes
/// and the other way round.
///
/// ```swift
/// let format = SessionIDFormat.php(length: 26, bitsPerCharacter: 5)   // Debian's php.ini
/// let id = format.random()                                          // "k2v0…", 26 of 0-9a-v
/// ```
public struct SessionIDFormat: Sendable, Equatable {
    /// Characters in every id.
    public let length: Int
    /// The symbols, in the order that maps bits to them.
    public let alphabet: [UInt8]
    /// Bits each symbol carries: 4, 5 or 6.
    public let bitsPerCharacter: Int
    /// Which byte is a symbol, for validating without a search.
    private let isSymbol: [Bool]

    private init(length: Int, alphabet: String) {
        self.length = length
        self.alphabet = Array(alphabet.utf8)
        bitsPerCharacter = self.alphabet.count.trailingZeroBitCount
        var isSymbol = [Bool](repeating: false, count: 256)
        for byte in self.alphabet { isSymbol[Int(byte)] = true }
        self.isSymbol = isSymbol
    }

    /// 40 characters of `A-Za-z0-9.-`: 240 bits.
    public static let obsession = SessionIDFormat(length: 40, alphabet: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.-")

    /// PHP's ids, as `session.sid_length` (22 to 256) and `session.sid_bits_per_character` (4:
    /// `0-9a-f`, 5: `0-9a-v`, 6: `0-9a-zA-Z,-`) make them. PHP's own defaults are 32 and 4;
    /// Debian's php.ini says 26 and 5. PHP allows as few as 88 bits (22 of 4); its docs, and
    /// we, advise at least 128.
    ///
    /// ```swift
    /// let format = SessionIDFormat.php()
    /// ```
    public static func php(length: Int = 32, bitsPerCharacter: Int = 4) -> SessionIDFormat {
        precondition((22...256).contains(length), "PHP's session.sid_length is 22 to 256, not \(length)")
        let digits = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ,-"
        switch bitsPerCharacter {
        case 4: return SessionIDFormat(length: length, alphabet: String(digits.prefix(16)))
        case 5: return SessionIDFormat(length: length, alphabet: String(digits.prefix(32)))
        case 6: return SessionIDFormat(length: length, alphabet: digits)
        default: preconditionFailure("PHP's session.sid_bits_per_character is 4, 5 or 6, not \(bitsPerCharacter)")
        }
    }

    /// `length` lowercase hexadecimal digits: CGI::Session's ids (MD5's 32), and others'.
    ///
    /// ```swift
    /// let format = SessionIDFormat.hex(length: 32)
    /// ```
    public static func hex(length: Int = 32) -> SessionIDFormat {
        precondition((16...256).contains(length), "a hexadecimal id of \(length) digits: 16 to 256 are allowed")
        return SessionIDFormat(length: length, alphabet: "0123456789abcdef")
    }

    /// Whether `bytes` are an id of this format.
    func isValid(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        bytes.count == length && bytes.allSatisfy { isSymbol[Int($0)] }
    }

    /// Whether `byte` is one of the alphabet's symbols.
    func isSymbol(_ byte: UInt8) -> Bool { isSymbol[Int(byte)] }

    /// A new id from the kernel's random source: each symbol from its own bits, so every
    /// symbol is equally likely.
    ///
    /// ```swift
    /// let id = SessionIDFormat.obsession.random()
    /// ```
    public func random() -> SessionID {
        let bytes = randomBytes((length * bitsPerCharacter + 7) / 8)
        let mask = UInt32(1) << bitsPerCharacter - 1
        let text = String(unsafeUninitializedCapacity: length) { symbols in
            var buffer: UInt32 = 0
            var bits = 0
            var next = 0
            for index in 0..<length {
                if bits < bitsPerCharacter {
                    buffer = buffer << 8 | UInt32(bytes[next])
                    next += 1
                    bits += 8
                }
                bits -= bitsPerCharacter
                symbols[index] = alphabet[Int(buffer >> UInt32(bits) & mask)]
            }
            return length
        }
        return SessionID(trusted: text)
    }
}
