internal import CFastCGI
import Glibc

/// How an idle worker waits for its next connection: an epoll set of its own holding the
/// listening socket and the shutdown pipe, made once.
///
/// poll(2) registers its descriptors and takes them off again on every call, one more system
/// call's worth of work each time a worker runs out of queued connections; a wait on the set
/// registers nothing. The listening socket is in each set with `EPOLLEXCLUSIVE`, so a connection
/// wakes one idle worker, not all of them to race for it; the shutdown wakes them all.
final class ConnectionWait: Sendable {
    private let set: Int32
    private let shutdown: Int32

    /// Makes the set for the socket `listening` and the shutdown `observer` watches.
    init(listening: Int32, shutdown latch: ShutdownLatch) throws(ServerError) {
        set = obsession_connection_wait_create(listening, latch.descriptor)
        shutdown = latch.descriptor
        guard set >= 0 else { throw ServerError(.cannotStart, "cannot make a worker's epoll set: \(errnoDescription())") }
    }

    /// Waits until a connection is ready to accept, shutdown begins, or `milliseconds` pass.
    func wait(milliseconds: Int32) -> ShutdownLatch.WaitResult {
        while true {
            switch obsession_connection_wait(set, shutdown, milliseconds) {
            case 2: return .shutdown
            case 1: return .readable
            case 0: return .timedOut
            default:
                guard errno == EINTR else {
                    logLine("waiting for a connection failed: \(errnoDescription())")
                    usleep(10_000)
                    return .timedOut
                }
            }
        }
    }

    deinit { close(set) }
}
