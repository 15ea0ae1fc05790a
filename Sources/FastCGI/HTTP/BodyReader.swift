/// Reads a request body from its transport, never past `CONTENT_LENGTH`, never more than the
/// configured maximum, and never for longer than the request timeout: a body over the limit
/// fails with ``RequestError/bodyTooLarge(limit:)`` before the excess is read, and one that
/// trickles in past the timeout with ``RequestError/timedOut(seconds:)``.
final class BodyReader {
    private let transport: Transport
    private let limit: Int
    /// Seconds the body may take, counted from its first read; 0 for no limit.
    private let timeout: Int
    /// Bytes still to come by `CONTENT_LENGTH`, or nil when the body runs to the stream's end.
    private var remaining: Int?
    private var consumed = 0
    /// When the body must have arrived (monotonic seconds), set at its first read.
    private var deadline: Double?
    /// Set once a read failed or timed out: nothing more is read, not even to drain.
    private var broken = false

    init(transport: Transport, contentLength: Int?, limit: Int, timeout: Int) {
        self.transport = transport
        self.remaining = contentLength
        self.limit = limit
        self.timeout = timeout
    }

    /// Whether `CONTENT_LENGTH` announces more than the limit.
    var isDeclaredTooLarge: Bool { (remaining ?? 0) > limit }

    /// Reads the next bytes into `buffer`; 0 at the end of the body.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws(RequestError) -> Int {
        if isDeclaredTooLarge { throw .bodyTooLarge(limit: limit) }
        // One byte past the limit, to tell a body of exactly the limit from a longer one.
        let allowed = limit - consumed
        var wanted = allowed < buffer.count ? allowed + 1 : buffer.count
        if let remaining { wanted = min(wanted, remaining) }
        guard wanted > 0 else { return 0 }
        let count: Int
        switch transport.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[..<wanted]), before: currentDeadline()) {
        case .bytes(let read): count = read
        case .failed:
            broken = true
            throw .malformedBody("the connection failed while reading the body")
        case .timedOut:
            broken = true
            throw .timedOut(seconds: timeout)
        }
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
        // What CONTENT_LENGTH announces, within the limit: one allocation, not a doubling series.
        body.reserveCapacity(min(remaining ?? 0, limit))
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
    /// read our answer. Bounded by `CONTENT_LENGTH`, which the web server enforces, and by the
    /// request timeout; nothing after a read failed or timed out.
    func drain() {
        // Small enough to live on the stack: most requests have nothing left to drain.
        withUnsafeTemporaryAllocation(byteCount: 512, alignment: 16) { buffer in
            while !broken, remaining.map({ $0 > 0 }) ?? true {
                let wanted = min(buffer.count, remaining ?? buffer.count)
                guard case .bytes(let count) = transport.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[..<wanted]),
                                                              before: currentDeadline()), count > 0 else { return }
                remaining = remaining.map { $0 - count }
            }
        }
    }

    /// The deadline, fixed at the first read; `.infinity` without a request timeout.
    private func currentDeadline() -> Double {
        if let deadline { return deadline }
        let fixed = timeout > 0 ? MonotonicClock.now + Double(timeout) : .infinity
        deadline = fixed
        return fixed
    }
}
