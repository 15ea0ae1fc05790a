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
    init(copying pairs: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) {
        // This runs for every request: one pass to measure and index the pairs, one allocation
        // and a memcpy per pair to copy them.
        var count = 0
        while pairs[count] != nil { count += 1 }
        var entries: [(start: Int32, equals: Int32, end: Int32)] = []
        entries.reserveCapacity(count)
        var total = 0
        for index in 0..<count {
            let pair = UnsafeRawPointer(pairs[index]!)
            let length = strlen(pairs[index]!)
            let equals = memchr(pair, Int32(UInt8(ascii: "=")), length).map { UnsafeRawPointer($0) - pair } ?? length
            entries.append((Int32(total), Int32(total + equals), Int32(total + length)))
            total += length
        }
        bytes = [UInt8](unsafeUninitializedCapacity: total) { buffer, filled in
            for (index, entry) in entries.enumerated() where entry.end > entry.start {
                memcpy(buffer.baseAddress! + Int(entry.start), pairs[index]!, Int(entry.end - entry.start))
            }
            filled = total
        }
        self.entries = entries
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
        guard let range = valueRange(of: name) else { return nil }
        return bytes.withUnsafeBufferPointer { String(decoding: UnsafeBufferPointer(rebasing: $0[range]), as: UTF8.self) }
    }

    /// Calls `body` with the bytes of the parameter `name`'s value (the last one if it was sent
    /// twice), or nil, without making a string of it.
    ///
    /// ```swift
    /// let hasCookie = request.parameters.withValueBytes(of: "HTTP_COOKIE") { $0 != nil }
    /// ```
    package func withValueBytes<Result>(of name: String, _ body: (UnsafeBufferPointer<UInt8>?) throws -> Result) rethrows -> Result {
        guard let range = valueRange(of: name) else { return try body(nil) }
        return try bytes.withUnsafeBufferPointer { try body(UnsafeBufferPointer(rebasing: $0[range])) }
    }

    /// Where the value of the parameter `name` lies in `bytes`.
    private func valueRange(of name: String) -> Range<Int>? {
        name.withUTF8Bytes { wanted in
            bytes.withUnsafeBufferPointer { all in
                entries.withUnsafeBufferPointer { entries in
                    // From the end: a web server repeats a parameter a later line of its
                    // configuration overrides, and the later value is meant (as PHP-FPM reads it).
                    var index = entries.count
                    while index > 0 {
                        index -= 1
                        let entry = entries[index]
                        guard Int(entry.equals - entry.start) == wanted.count,
                              wanted.isEmpty || memcmp(all.baseAddress! + Int(entry.start), wanted.baseAddress!, wanted.count) == 0 else { continue }
                        return (entry.equals < entry.end ? Int(entry.equals) + 1 : Int(entry.end))..<Int(entry.end)
                    }
                    return nil
                }
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
