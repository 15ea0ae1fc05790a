/// Reads a request body from its transport, never past `CONTENT_LENGTH` and never more than
/// the configured maximum: a body over the limit fails with ``RequestError/bodyTooLarge(limit:)``
/// before the excess is read.
final class BodyReader {
    private let transport: Transport
    private let limit: Int
    /// Bytes still to come by `CONTENT_LENGTH`, or nil when the body runs to the stream's end.
    private var remaining: Int?
    private var consumed = 0

    init(transport: Transport, contentLength: Int?, limit: Int) {
        self.transport = transport
        self.remaining = contentLength
        self.limit = limit
    }

    /// Whether `CONTENT_LENGTH` announces more than the limit.
    var isDeclaredTooLarge: Bool { (remaining ?? 0) > limit }

    /// Reads the next bytes into `buffer`; 0 at the end of the body.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws(RequestError) -> Int {
        if isDeclaredTooLarge { throw .bodyTooLarge(limit: limit) }
        var wanted = min(buffer.count, limit - consumed + 1)
        if let remaining { wanted = min(wanted, remaining) }
        guard wanted > 0 else { return 0 }
        let count = transport.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[..<wanted]))
        guard count >= 0 else { throw .malformedBody("the connection failed while reading the body") }
        if count == 0, let remaining, remaining > 0 {
            throw .malformedBody("the body ended \(remaining) bytes before its Content-Length")
        }
        consumed += count
        remaining = remaining.map { $0 - count }
        if consumed > limit { throw .bodyTooLarge(limit: limit) }
        return count
    }

    /// Reads the whole body into memory.
    func readAll() throws(RequestError) -> [UInt8] {
        var body: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16384)
        while true {
            let count = try chunk.withUnsafeMutableBytes { buffer in
                Result { () throws(RequestError) in try read(into: buffer) }
            }.get()
            if count == 0 { return body }
            body.append(contentsOf: chunk[..<count])
        }
    }

    /// Reads and discards what is left of the body, so the web server can finish sending it and
    /// read our answer. Bounded by `CONTENT_LENGTH`, which the web server enforces.
    func drain() {
        // Small enough to live on the stack: most requests have nothing left to drain.
        withUnsafeTemporaryAllocation(byteCount: 512, alignment: 16) { buffer in
            while remaining.map({ $0 > 0 }) ?? true {
                let wanted = min(buffer.count, remaining ?? buffer.count)
                let count = transport.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[..<wanted]))
                if count <= 0 { return }
                remaining = remaining.map { $0 - count }
            }
        }
    }
}
