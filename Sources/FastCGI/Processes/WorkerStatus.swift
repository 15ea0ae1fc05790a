import Glibc
import Synchronization

/// What an operator asks a worker process with SIGUSR1: its workers busy and idle, the requests
/// it served, and the listen queue when the kernel tells it (TCP).
final class WorkerStatus: Sendable {
    private let busy = Atomic<Int>(0)
    private let served = Atomic<Int>(0)

    /// Marks a worker busy for the length of one request.
    func serving(_ body: () -> Void) {
        busy.wrappingAdd(1, ordering: .relaxed)
        body()
        busy.wrappingSubtract(1, ordering: .relaxed)
        served.wrappingAdd(1, ordering: .relaxed)
    }

    /// Writes the status line.
    func report(workers: Int, listenDescriptor: Int32) {
        let busyNow = busy.load(ordering: .relaxed)
        logLine("status: \(workers) workers, \(busyNow) busy, \(workers - busyNow) idle, "
                + "\(served.load(ordering: .relaxed)) requests served, listen queue \(Self.listenQueue(listenDescriptor))")
    }

    /// Connections waiting to be accepted, which Linux reports for a TCP listening socket
    /// (`tcpi_unacked`); a Unix socket's queue is not exposed this way.
    private static func listenQueue(_ descriptor: Int32) -> String {
        var info = tcp_info()
        var length = socklen_t(MemoryLayout<tcp_info>.size)
        guard getsockopt(descriptor, Int32(IPPROTO_TCP), TCP_INFO, &info, &length) == 0 else { return "not reported (Unix socket)" }
        return "\(info.tcpi_unacked) of \(info.tcpi_sacked)"
    }
}
