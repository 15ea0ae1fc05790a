import Glibc

/// The standard streams of a classic CGI process: stdin holds the body, stdout takes the
/// response, stderr goes to the web server's error log.
final class CGITransport: Transport {
    func read(into buffer: UnsafeMutableRawBufferPointer, before deadline: Double) -> TransportRead {
        while true {
            if deadline.isFinite {
                var input = pollfd(fd: STDIN_FILENO, events: Int16(POLLIN), revents: 0)
                let ready = poll(&input, 1, MonotonicClock.milliseconds(until: deadline))
                if ready == 0 { return .timedOut }
                if ready < 0 && errno == EINTR { continue }
            }
            let count = Glibc.read(STDIN_FILENO, buffer.baseAddress, buffer.count)
            if count >= 0 { return .bytes(count) }
            if errno != EINTR { return .failed }
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
