import Glibc

/// Makes a read from `socket` that waits more than `seconds` fail (EAGAIN); 0 lets it wait for
/// ever. Set on a listening TCP socket, it passes to every connection accepted from it.
///
/// ```swift
/// limitReads(of: connection, to: 60)
/// ```
func limitReads(of socket: Int32, to seconds: Int) {
    var limit = timeval(tv_sec: seconds, tv_usec: 0)
    _ = setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
}
