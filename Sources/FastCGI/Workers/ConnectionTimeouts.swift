import Glibc

/// How long a connection may keep its worker waiting, in seconds (0: for ever): for the next
/// bytes of a request, or for room to write the answer. Past either, the read or write fails
/// (EAGAIN), the worker drops the connection and goes on.
///
/// ```swift
/// ConnectionTimeouts(read: 60, write: 60).apply(to: connection)
/// ```
struct ConnectionTimeouts: Sendable {
    let read: Int
    let write: Int

    func apply(to socket: Int32) {
        Self.setReadTimeout(of: socket, seconds: Double(read))
        var writeLimit = timeval(tv_sec: write, tv_usec: 0)
        _ = setsockopt(socket, SOL_SOCKET, SO_SNDTIMEO, &writeLimit, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Sets how long a read of `socket` may wait (`SO_RCVTIMEO`); 0 waits for ever.
    static func setReadTimeout(of socket: Int32, seconds: Double) {
        let whole = seconds.rounded(.down)
        // A positive time under a microsecond would read as 0, for ever: make it one.
        var limit = timeval(tv_sec: Int(whole), tv_usec: max(Int((seconds - whole) * 1e6), seconds > 0 && whole == 0 ? 1 : 0))
        _ = setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
    }
}
