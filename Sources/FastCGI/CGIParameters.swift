import Glibc

/// A request's CGI parameters (`NAME=VALUE` pairs) copied into one buffer, looked up by
/// name without building a dictionary: a request has thirty or so and reads a handful.
///
/// ```swift
/// let method = request.parameters["REQUEST_METHOD"]
/// for (name, value) in request.parameters { print(name, value) }
/// ```
public struct CGIParameters: Sendable, Sequence, ExpressibleByDictionaryLiteral {
    private var bytes: [UInt8] = []
    /// For each pair: where its name starts, where its `=` is, where its value ends.
    private var entries: [(start: Int32, equals: Int32, end: Int32)] = []

    /// Makes parameters from a dictionary.
    ///
    /// ```swift
    /// let parameters = CGIParameters(["REQUEST_METHOD": "GET"])
    /// ```
    public init(_ dictionary: [String: String] = [:]) {
        for (name, value) in dictionary.sorted(by: { $0.key < $1.key }) {
            append(nameAndValue: Array("\(name)=\(value)".utf8), equals: name.utf8.count)
        }
    }

    /// Makes parameters from a literal.
    ///
    /// ```swift
    /// let parameters: CGIParameters = ["REQUEST_METHOD": "GET", "PATH_INFO": "/"]
    /// ```
    public init(dictionaryLiteral elements: (String, String)...) {
        self.init(Dictionary(elements) { $1 })
    }

    /// Copies a NULL-terminated array of C strings `NAME=VALUE`, such as `environ` or libfcgi's
    /// `envp`, whose memory is not ours to keep.
    init(copying entries: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) {
        var count = 0
        var total = 0
        while let pair = entries[count] {
            total += strlen(pair)
            count += 1
        }
        bytes.reserveCapacity(total)
        self.entries.reserveCapacity(count)
        for index in 0..<count {
            let pair = UnsafeRawBufferPointer(start: entries[index]!, count: strlen(entries[index]!))
            append(nameAndValue: pair, equals: pair.firstIndex(of: UInt8(ascii: "=")) ?? pair.count)
        }
    }

    private mutating func append(nameAndValue pair: some Collection<UInt8>, equals: Int) {
        let start = Int32(bytes.count)
        bytes.append(contentsOf: pair)
        entries.append((start, start + Int32(equals), Int32(bytes.count)))
    }

    /// The value of the parameter `name`, or nil; the last one if it was sent twice.
    ///
    /// ```swift
    /// let cookie = request.parameters["HTTP_COOKIE"] ?? ""
    /// ```
    public subscript(name: String) -> String? {
        name.withUTF8Bytes { wanted in
            bytes.withUnsafeBufferPointer { all in
                // From the end: a web server repeats a parameter a later line of its
                // configuration overrides, and the later value is meant (as PHP-FPM reads it).
                for entry in entries.reversed() where Int(entry.equals - entry.start) == wanted.count {
                    let candidate = UnsafeBufferPointer(rebasing: all[Int(entry.start)..<Int(entry.equals)])
                    if wanted.isEmpty || memcmp(candidate.baseAddress!, wanted.baseAddress!, wanted.count) == 0 {
                        let value = entry.equals < entry.end ? Int(entry.equals) + 1 : Int(entry.end)
                        return String(decoding: all[value..<Int(entry.end)], as: UTF8.self)
                    }
                }
                return nil
            }
        }
    }

    /// Every name and value, in the order the web server sent them.
    public func makeIterator() -> some IteratorProtocol<(name: String, value: String)> {
        entries.lazy.map { entry in
            let value = entry.equals < entry.end ? Int(entry.equals) + 1 : Int(entry.end)
            return (name: String(decoding: bytes[Int(entry.start)..<Int(entry.equals)], as: UTF8.self),
                    value: String(decoding: bytes[value..<Int(entry.end)], as: UTF8.self))
        }.makeIterator()
    }
}
