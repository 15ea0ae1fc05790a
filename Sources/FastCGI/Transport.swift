internal import CFastCGI
import Glibc

/// Where one request's body comes from, its response goes and its errors are logged: the
/// FastCGI streams of a libfcgi request, or the standard streams of a classic CGI process.
protocol Transport: AnyObject {
    /// Reads up to `buffer.count` bytes of the body; 0 at its end, -1 on error.
    func read(into buffer: UnsafeMutableRawBufferPointer) -> Int
    /// Writes all of `bytes`; false once the client is gone.
    func write(_ bytes: UnsafeRawBufferPointer) -> Bool
    /// Sends what is buffered; false once the client is gone.
    func flush() -> Bool
    /// Writes one line to the error log the web server keeps for this request.
    func logError(_ line: String)
}

/// A libfcgi request's streams. The request must stay at one address while in use: its streams
/// point back at it.
final class FastCGITransport: Transport {
    private let request: UnsafeMutablePointer<FCGX_Request>

    init(_ request: UnsafeMutablePointer<FCGX_Request>) {
        self.request = request
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        let count = FCGX_GetStr(buffer.baseAddress!.assumingMemoryBound(to: CChar.self), Int32(buffer.count), request.pointee.in)
        return count > 0 || FCGX_GetError(request.pointee.in) == 0 ? Int(count) : -1
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

/// The standard streams of a classic CGI process: stdin holds the body, stdout takes the
/// response, stderr goes to the web server's error log.
final class CGITransport: Transport {
    func read(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        while true {
            let count = Glibc.read(STDIN_FILENO, buffer.baseAddress, buffer.count)
            if count >= 0 || errno != EINTR { return count }
        }
    }

    func write(_ bytes: UnsafeRawBufferPointer) -> Bool {
        writeAll(STDOUT_FILENO, bytes)
    }

    func flush() -> Bool { true }

    func logError(_ line: String) {
        var line = line + "\n"
        line.withUTF8 { _ = writeAll(STDERR_FILENO, UnsafeRawBufferPointer($0)) }
    }

    /// The process environment, which holds the CGI parameters.
    static func parameters() -> CGIParameters {
        CGIParameters(copying: environ)
    }
}

/// Writes all of `bytes` to `descriptor`, retrying short writes and EINTR.
func writeAll(_ descriptor: Int32, _ bytes: UnsafeRawBufferPointer) -> Bool {
    var offset = 0
    while offset < bytes.count {
        let written = Glibc.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
        if written < 0 {
            if errno == EINTR { continue }
            return false
        }
        offset += written
    }
    return true
}
