internal import CFastCGI
import Glibc

/// A libfcgi request's streams. The request must stay at one address while in use: its streams
/// point back at it.
final class FastCGITransport: Transport {
    private let request: UnsafeMutablePointer<FCGX_Request>
    /// The connection's own read timeout in seconds (0: none), as ``ConnectionTimeouts`` set it.
    private let readTimeout: Int

    init(_ request: UnsafeMutablePointer<FCGX_Request>, readTimeout: Int) {
        self.request = request
        self.readTimeout = readTimeout
    }

    /// Gives what has arrived, waiting only when nothing has: `FCGX_GetStr` would wait for the
    /// whole buffer, read after read, and a body trickling in a byte at a time would keep it
    /// waiting however short each read's timeout. A deadline nearer than the connection's read
    /// timeout shortens the socket's timeout for the wait, and puts it back after (libfcgi keeps
    /// bytes of its own buffered, so waiting on the socket itself could wait for bytes already
    /// read). A wait cut short fails the stream, and libfcgi then closes the connection rather
    /// than keeping it.
    func read(into buffer: UnsafeMutableRawBufferPointer, before deadline: Double) -> TransportRead {
        guard let input = request.pointee.in, buffer.count > 0 else { return .bytes(0) }
        let bytes = buffer.baseAddress!.assumingMemoryBound(to: CChar.self)
        var filled = 0
        if Self.buffered(in: input) == 0 {
            let socket = request.pointee.ipcFd
            let left = deadline - MonotonicClock.now
            let shortened = left < Double(readTimeout) || (readTimeout == 0 && left.isFinite)
            if shortened {
                guard left > 0 else { return .timedOut }
                ConnectionTimeouts.setReadTimeout(of: socket, seconds: left)
            }
            // One byte: libfcgi reads the next record, however much of it has come.
            let byte = FCGX_GetChar(input)
            if shortened { ConnectionTimeouts.setReadTimeout(of: socket, seconds: Double(readTimeout)) }
            guard byte >= 0 else {
                if FCGX_GetError(input) == 0 { return .bytes(0) }
                return MonotonicClock.now >= deadline ? .timedOut : .failed
            }
            bytes[0] = CChar(truncatingIfNeeded: byte)
            filled = 1
        }
        let count = min(buffer.count - filled, Self.buffered(in: input))
        if count > 0 { filled += Int(FCGX_GetStr(bytes + filled, Int32(count), input)) }
        return .bytes(filled)
    }

    /// Bytes of the body libfcgi holds read and not yet handed over.
    private static func buffered(in stream: UnsafeMutablePointer<FCGX_Stream>) -> Int {
        guard let next = stream.pointee.rdNext, let stop = stream.pointee.stop else { return 0 }
        return stop - next
    }

    func write(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return true }
        // libfcgi reports EPIPE only when its buffer flushes: check the stream's error too.
        return FCGX_PutStr(base.assumingMemoryBound(to: CChar.self), Int32(bytes.count), request.pointee.out) == Int32(bytes.count)
            && FCGX_GetError(request.pointee.out) == 0
    }

    func flush() -> Bool {
        FCGX_FFlush(request.pointee.out) == 0 && FCGX_GetError(request.pointee.out) == 0
    }

    func logError(_ line: String) {
        var line = line + "\n"
        line.withUTF8 { bytes in
            _ = FCGX_PutStr(UnsafeRawPointer(bytes.baseAddress!).assumingMemoryBound(to: CChar.self), Int32(bytes.count), request.pointee.err)
        }
        FCGX_FFlush(request.pointee.err)
    }

    /// The request's CGI parameters, copied: libfcgi frees them at the next accept.
    func parameters() -> CGIParameters {
        request.pointee.envp.map { CGIParameters(copying: $0) } ?? CGIParameters()
    }
}

