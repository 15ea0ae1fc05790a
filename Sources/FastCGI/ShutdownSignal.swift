import Glibc

/// The write end of the shutdown pipe, for the signal handler, which can capture nothing.
nonisolated(unsafe) private var shutdownWriteDescriptor: Int32 = -1

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
        var ends: [Int32] = [-1, -1]
        try systemCall("cannot make the shutdown pipe", code: .cannotStart) { pipe(&ends) }
        for end in ends {
            _ = fcntl(end, F_SETFD, FD_CLOEXEC)
            _ = fcntl(end, F_SETFL, O_NONBLOCK)
        }
        descriptor = ends[0]
        shutdownWriteDescriptor = ends[1]
        signal(SIGPIPE, SIG_IGN)
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { _ in ShutdownSignal.trigger() }
        sigemptyset(&action.sa_mask)
        action.sa_flags = SA_RESTART
        sigaction(SIGTERM, &action, nil)
        sigaction(SIGINT, &action, nil)
        // A parent may have started us with these blocked (the mask survives exec); threads
        // started after this inherit the unblocked mask.
        var stopSignals = sigset_t()
        sigemptyset(&stopSignals)
        sigaddset(&stopSignals, SIGTERM)
        sigaddset(&stopSignals, SIGINT)
        pthread_sigmask(SIG_UNBLOCK, &stopSignals, nil)
    }

    /// Begins the shutdown, as SIGTERM does. Safe to call from a signal handler.
    static func trigger() {
        var byte: UInt8 = 1
        _ = write(shutdownWriteDescriptor, &byte, 1)
    }

    /// Whether shutdown has begun.
    var isTriggered: Bool {
        var request = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        return poll(&request, 1, 0) == 1
    }
}
