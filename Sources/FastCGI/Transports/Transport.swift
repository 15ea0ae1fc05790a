/// Where one request's body comes from, its response goes and its errors are logged: the
/// FastCGI streams of a libfcgi request, or the standard streams of a classic CGI process.
protocol Transport: AnyObject {
    /// Reads up to `buffer.count` bytes of the body, waiting at most until `deadline` (seconds
    /// on the ``MonotonicClock``; `.infinity` for no deadline) for the first of them.
    func read(into buffer: UnsafeMutableRawBufferPointer, before deadline: Double) -> TransportRead
    /// Writes all of `bytes`; false once the client is gone.
    func write(_ bytes: UnsafeRawBufferPointer) -> Bool
    /// Sends what is buffered; false once the client is gone.
    func flush() -> Bool
    /// Writes one line to the error log the web server keeps for this request.
    func logError(_ line: String)
}

/// What one read of a request body gave.
enum TransportRead {
    /// This many bytes; 0 at the body's end.
    case bytes(Int)
    /// The connection failed, or the client went away.
    case failed
    /// Nothing came before the deadline.
    case timedOut
}

