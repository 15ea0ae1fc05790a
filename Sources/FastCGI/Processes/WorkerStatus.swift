import Glibc

/// One worker process's counters on the server's ``Scoreboard``: its workers busy and the
/// requests it served, which the status page sums over every process, and which an operator
/// asks this process alone for with SIGUSR1.
final class WorkerStatus: Sendable {
    let board: Scoreboard
    private let slot: Int

    /// Takes a slot of `board` for this process.
    init(board: Scoreboard) {
        self.board = board
        slot = board.claimSlot()
    }

    /// Marks a worker busy for the length of one request.
    func serving(_ body: () -> Void) {
        board.add(1, to: .busy, of: slot)
        body()
        board.add(-1, to: .busy, of: slot)
        board.add(1, to: .served, of: slot)
    }

    /// Writes the status line of this process.
    func report(workers: Int, listenDescriptor: Int32) {
        let busy = board.value(of: .busy, in: slot)
        let queue = Self.listenQueue(listenDescriptor).map { "\($0.waiting) of \($0.limit)" } ?? "not reported (Unix socket)"
        logLine("status: \(workers) workers, \(busy) busy, \(workers - busy) idle, "
                + "\(board.value(of: .served, in: slot)) requests served, listen queue \(queue)")
    }

    /// Connections waiting to be accepted and the queue's length, which Linux reports for a TCP
    /// listening socket (`tcpi_unacked`, `tcpi_sacked`); nil for a Unix socket, whose queue is
    /// not exposed this way.
    static func listenQueue(_ descriptor: Int32) -> (waiting: Int, limit: Int)? {
        var info = tcp_info()
        var length = socklen_t(MemoryLayout<tcp_info>.size)
        guard getsockopt(descriptor, Int32(IPPROTO_TCP), TCP_INFO, &info, &length) == 0 else { return nil }
        return (Int(info.tcpi_unacked), Int(info.tcpi_sacked))
    }
}
