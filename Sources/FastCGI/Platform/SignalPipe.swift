import Glibc

/// The write end of the process's signal pipe, for the handlers, which can capture nothing.
nonisolated(unsafe) private var signalWriteDescriptor: Int32 = -1

/// Turns signals into bytes on a pipe that a thread waits on: a handler may do almost nothing
/// safely, and a write is one of the few things it may. The one way this package takes signals,
/// for a server's process and for a supervisor alike; one per process.
///
/// ```swift
/// let signals = try SignalPipe([SIGTERM, SIGINT])
/// for number in signals.wait(milliseconds: -1) where number == SIGTERM { stop() }
/// ```
package final class SignalPipe: Sendable {
    /// The end a thread waits on.
    package let descriptor: Int32
    private let writeEnd: Int32

    /// Makes the pipe, points `signals` at it (restarting the calls they interrupt) and
    /// unblocks them in this thread and the threads it starts: a parent may have started the
    /// process with them blocked (the mask survives exec). SIGPIPE is ignored, so that a peer
    /// gone away is an error on write, not the end of the process.
    package init(_ signals: [Int32]) throws(ServerError) {
        (descriptor, writeEnd) = try makePipe("the signal pipe")
        signalWriteDescriptor = writeEnd
        signal(SIGPIPE, SIG_IGN)
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { number in
            var byte = UInt8(truncatingIfNeeded: number)
            _ = write(signalWriteDescriptor, &byte, 1)
        }
        sigemptyset(&action.sa_mask)
        action.sa_flags = SA_RESTART
        var unblocked = sigset_t()
        sigemptyset(&unblocked)
        for number in signals {
            sigaction(number, &action, nil)
            sigaddset(&unblocked, number)
        }
        pthread_sigmask(SIG_UNBLOCK, &unblocked, nil)
    }

    /// Waits until a signal came, `other` is readable, or `milliseconds` passed (-1: no limit);
    /// returns the signals that came, in order.
    package func wait(alsoFor other: Int32? = nil, milliseconds: Int32) -> [Int32] {
        var descriptors = [pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)]
        if let other { descriptors.append(pollfd(fd: other, events: Int16(POLLIN), revents: 0)) }
        guard poll(&descriptors, nfds_t(descriptors.count), milliseconds) > 0, descriptors[0].revents != 0 else { return [] }
        var received = [UInt8](repeating: 0, count: 64)
        let count = read(descriptor, &received, received.count)
        return received.prefix(max(count, 0)).map(Int32.init)
    }

    /// Closes both ends: in a child just forked, which makes its own.
    package func closeInChild() {
        close(descriptor)
        close(writeEnd)
    }
}

/// A pipe whose ends close on exec and never block. `purpose` names it in the error.
func makePipe(_ purpose: String) throws(ServerError) -> (read: Int32, write: Int32) {
    var ends: [Int32] = [-1, -1]
    try systemCall("cannot make \(purpose)", code: .cannotStart) { pipe(&ends) }
    for end in ends {
        _ = fcntl(end, F_SETFD, FD_CLOEXEC)
        _ = fcntl(end, F_SETFL, O_NONBLOCK)
    }
    return (ends[0], ends[1])
}
