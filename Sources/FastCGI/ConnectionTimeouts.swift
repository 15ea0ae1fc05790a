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
        var readLimit = timeval(tv_sec: read, tv_usec: 0)
        _ = setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &readLimit, socklen_t(MemoryLayout<timeval>.size))
        var writeLimit = timeval(tv_sec: write, tv_usec: 0)
        _ = setsockopt(socket, SOL_SOCKET, SO_SNDTIMEO, &writeLimit, socklen_t(MemoryLayout<timeval>.size))
    }
}
