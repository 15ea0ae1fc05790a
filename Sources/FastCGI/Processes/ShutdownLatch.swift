import Glibc
import Synchronization

/// The stop of a server's workers: raised once (by SIGTERM or SIGINT, or by a process that
/// served its `--max-requests`), seen by every worker.
///
/// A pipe that is never read: once a byte is in it, it stays readable, so every worker that
/// waits on it from then on wakes, and one check of a flag spares the others a system call.
/// (libfcgi's own SIGTERM handler only sets a flag that a thread blocked in `accept` never
/// looks at.)
final class ShutdownLatch: Sendable {
    /// The end workers wait on: readable once the stop began.
    let descriptor: Int32
    private let writeEnd: Int32
    private let raised = Atomic<Bool>(false)

    init() throws(ServerError) {
        (descriptor, writeEnd) = try makePipe("the shutdown pipe")
    }

    /// Whether the stop began.
    var isRaised: Bool { raised.load(ordering: .relaxed) }

    /// Begins the stop.
    func raise() {
        raised.store(true, ordering: .relaxed)
        var byte: UInt8 = 1
        _ = write(writeEnd, &byte, 1)
    }

    /// How a wait ended.
    enum WaitResult { case readable, shutdown, timedOut }

    /// Waits until `other` is readable, the stop begins, or `milliseconds` pass.
    func wait(readable other: Int32, milliseconds: Int32) -> WaitResult {
        var descriptors = [
            pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0),
            pollfd(fd: other, events: Int16(POLLIN), revents: 0),
        ]
        var ready: Int32
        repeat { ready = poll(&descriptors, 2, milliseconds) } while ready < 0 && errno == EINTR
        if descriptors[0].revents != 0 { return .shutdown }
        return ready == 0 ? .timedOut : .readable
    }
}
