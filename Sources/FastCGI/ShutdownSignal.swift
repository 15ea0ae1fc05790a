import Glibc
import Synchronization

/// The write end of the shutdown pipe, for the signal handler, which can capture nothing.
nonisolated(unsafe) private var shutdownWriteDescriptor: Int32 = -1

/// Set once the shutdown pipe was seen readable.
private let shutdownTriggered = Atomic<Bool>(false)

/// Turns SIGTERM and SIGINT into a readable pipe that every worker polls beside its socket.
///
/// The pipe is never read: once a byte is in it, it stays readable, so every worker that
/// polls it from then on sees the stop. (libfcgi's own SIGTERM handler only sets a flag that a
/// thread blocked in `accept` never looks at.)
struct ShutdownSignal: ~Copyable {
    /// The end workers poll: readable once shutdown began.
    let descriptor: Int32

    /// Makes the pipe and installs the handlers for SIGTERM and SIGINT; SIGPIPE is ignored so a
    /// client that went away is an error on write, not the death of the process.
    init() throws(ServerError) {
        let ends = try makePipe("the shutdown pipe")
        descriptor = ends.read
        shutdownWriteDescriptor = ends.write
        signal(SIGPIPE, SIG_IGN)
        handleSignals([SIGTERM, SIGINT]) { _ in ShutdownSignal.trigger() }
    }

    /// Begins the shutdown, as SIGTERM does. Safe to call from a signal handler.
    static func trigger() {
        var byte: UInt8 = 1
        _ = write(shutdownWriteDescriptor, &byte, 1)
    }

    /// What workers hold to see and wait for the shutdown.
    var observer: Observer { Observer(descriptor: descriptor) }

    /// Waits for the shutdown signal, then marks it begun for every ``Observer``; calls `report`
    /// each time SIGUSR1 asks `status` for one meanwhile.
    func waitForTrigger(reporting status: WorkerStatus, _ report: () -> Void) {
        var descriptors = [
            pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0),
            pollfd(fd: status.descriptor, events: Int16(POLLIN), revents: 0),
        ]
        while true {
            guard poll(&descriptors, 2, -1) > 0 else { continue }
            if descriptors[0].revents != 0 { break }
            if descriptors[1].revents != 0 { report() }
        }
        shutdownTriggered.store(true, ordering: .relaxed)
    }

    /// A worker's view of the shutdown: a check that costs no system call, and a wait on a
    /// descriptor that shutdown interrupts.
    struct Observer: Sendable {
        /// The pipe's read end: readable once shutdown began.
        let descriptor: Int32

        /// Whether shutdown has begun, as the main thread marked it on waking.
        var isTriggered: Bool { shutdownTriggered.load(ordering: .relaxed) }

        /// How a wait ended.
        enum WaitResult { case readable, shutdown, timedOut }

        /// Waits until `other` is readable, shutdown begins, or `milliseconds` pass.
        func wait(readable other: Int32, milliseconds: Int32) -> WaitResult {
            var descriptors = [
                pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0),
                pollfd(fd: other, events: Int16(POLLIN), revents: 0),
            ]
            var ready: Int32
            repeat { ready = poll(&descriptors, 2, milliseconds) } while ready < 0 && errno == EINTR
            if descriptors[0].revents != 0 {
                shutdownTriggered.store(true, ordering: .relaxed)
                return .shutdown
            }
            return ready == 0 ? .timedOut : .readable
        }
    }
}
