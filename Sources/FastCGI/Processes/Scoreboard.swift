internal import CFastCGI
import Glibc

/// The server's counters, in memory every worker process shares (mapped before the first fork),
/// so that any one of them can answer the status page for all: each process's workers busy and
/// requests served, in a slot of its own, and the supervisor's restarts.
///
/// ```swift
/// let board = try Scoreboard(processes: 4)
/// let slot = board.claimSlot()          // in a worker process
/// board.add(1, to: .served, of: slot)
/// print(board.snapshot().served)
/// ```
final class Scoreboard: @unchecked Sendable {
    /// A process's counters.
    enum Counter: Int { case pid = 0, busy, served }
    private static let slotWidth = 3
    /// The header's counters: restarts, and requests served by processes gone.
    private enum Header: Int { case restarts = 0, servedByGone, started }
    private static let headerWidth = 3

    private let counters: UnsafeMutablePointer<Int>
    private let slots: Int

    /// What the counters said at one moment.
    struct Snapshot: Equatable {
        var processes = 0
        var busy = 0
        var served = 0
        var restarts = 0
        /// When the server started, in seconds since 1970.
        var started = 0
    }

    /// Maps room for `processes` slots, shared with every process forked after.
    init(processes: Int) throws(ServerError) {
        slots = max(processes, 1)
        let size = (Self.headerWidth + slots * Self.slotWidth) * MemoryLayout<Int>.stride
        guard let memory = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0), memory != MAP_FAILED else {
            throw ServerError(.cannotStart, "cannot map the status scoreboard: \(Errno.current)", errno: errno)
        }
        counters = memory.bindMemory(to: Int.self, capacity: Self.headerWidth + slots * Self.slotWidth)
        counters[Header.started.rawValue] = time(nil)
    }

    private func pointer(_ counter: Counter, of slot: Int) -> UnsafeMutablePointer<Int> {
        counters + Self.headerWidth + slot * Self.slotWidth + counter.rawValue
    }

    private func shared(_ pointer: UnsafeMutablePointer<Int>) -> UnsafeMutablePointer<CLong> {
        UnsafeMutableRawPointer(pointer).assumingMemoryBound(to: CLong.self)
    }

    /// Takes a free slot for this process: the first whose pid is 0. With every slot taken (a
    /// reload's two generations at once), the last is shared.
    func claimSlot() -> Int {
        let pid = Int(getpid())
        for slot in 0..<slots where obsession_shared_claim(shared(pointer(.pid, of: slot)), 0, pid) != 0 {
            obsession_shared_store(shared(pointer(.busy, of: slot)), 0)
            obsession_shared_store(shared(pointer(.served, of: slot)), 0)
            return slot
        }
        return slots - 1
    }

    /// Frees the slot of process `pid`, gone, keeping its requests in the total.
    func releaseSlot(of pid: pid_t) {
        for slot in 0..<slots where obsession_shared_load(shared(pointer(.pid, of: slot))) == Int(pid) {
            obsession_shared_add(shared(counters + Header.servedByGone.rawValue), obsession_shared_load(shared(pointer(.served, of: slot))))
            obsession_shared_store(shared(pointer(.busy, of: slot)), 0)
            obsession_shared_store(shared(pointer(.served, of: slot)), 0)
            obsession_shared_store(shared(pointer(.pid, of: slot)), 0)
        }
    }

    /// Adds `amount` to `counter` of `slot`.
    func add(_ amount: Int, to counter: Counter, of slot: Int) {
        obsession_shared_add(shared(pointer(counter, of: slot)), amount)
    }

    /// The value of `counter` of `slot`.
    func value(of counter: Counter, in slot: Int) -> Int {
        obsession_shared_load(shared(pointer(counter, of: slot)))
    }

    /// Counts a worker process restarted after it crashed or retired.
    func countRestart() {
        obsession_shared_add(shared(counters + Header.restarts.rawValue), 1)
    }

    /// The counters now.
    func snapshot() -> Snapshot {
        var snapshot = Snapshot()
        snapshot.restarts = obsession_shared_load(shared(counters + Header.restarts.rawValue))
        snapshot.served = obsession_shared_load(shared(counters + Header.servedByGone.rawValue))
        snapshot.started = counters[Header.started.rawValue]
        for slot in 0..<slots where obsession_shared_load(shared(pointer(.pid, of: slot))) != 0 {
            snapshot.processes += 1
            snapshot.busy += obsession_shared_load(shared(pointer(.busy, of: slot)))
            snapshot.served += obsession_shared_load(shared(pointer(.served, of: slot)))
        }
        return snapshot
    }
}
