internal import CFastCGI
import Glibc

/// A master process that keeps `processes` worker processes serving one listening socket.
///
/// It restarts a worker that dies (with a back-off that grows while crashes come fast), replaces
/// one that retired after `maxRequests`, and stops them all gracefully on SIGTERM or SIGINT.
/// SIGHUP reloads: new workers start, then the old ones finish what they hold and exit. SIGUSR1
/// writes the supervisor's state to the log. The socket stays open in the master throughout, so
/// a connection waits in the backlog for whichever worker accepts it: a worker that dies costs
/// only the requests it held.
final class Supervisor {
    private struct Worker {
        let generation: Int
        let started: Double
    }

    private let configuration: FastCGIServer.Configuration
    private let address: ListenAddress
    private var workers: [pid_t: Worker] = [:]
    private var generation = 0
    private var restarts = 0
    private var retirements = 0
    /// Crashes in a row of workers that died young, for the back-off.
    private var quickCrashes = 0
    /// Forks that failed in a row (EAGAIN at a process limit, ENOMEM), for their back-off.
    private var failedForks = 0
    /// When replacements for crashed workers are due (monotonic seconds).
    private var pendingRestarts: [Double] = []
    private var signals: SignalPipe?

    /// The counters the status page reads, where a process gone frees its slot.
    private let board: Scoreboard

    init(configuration: FastCGIServer.Configuration, address: ListenAddress, board: Scoreboard) {
        self.configuration = configuration
        self.address = address
        self.board = board
    }

    /// Supervises worker processes that each run `work`, until SIGTERM or SIGINT.
    func run(_ work: @escaping () throws(ServerError) -> Void) throws(ServerError) {
        let signals = try SignalPipe([SIGTERM, SIGINT, SIGHUP, SIGCHLD, SIGUSR1])
        self.signals = signals
        let processes = max(configuration.processes, 1)
        logLine("supervising \(processes) processes of \(configuration.workers) workers on \(address)")
        for _ in 0..<processes { spawn(work) }
        while true {
            let wait = pendingRestarts.min().map(MonotonicClock.milliseconds(until:)) ?? -1
            for signal in signals.wait(milliseconds: wait) {
                switch signal {
                case SIGCHLD: reap()
                case SIGHUP: reload(work)
                case SIGUSR1: logStatus()
                default:
                    stop()
                    return
                }
            }
            // One reading of the clock decides what is due, so none is dropped between two.
            let current = MonotonicClock.now
            let due = pendingRestarts.filter { $0 <= current }.count
            pendingRestarts.removeAll { $0 <= current }
            for _ in 0..<due { spawn(work) }
        }
    }

    /// Forks a worker process that runs `work`. A fork that fails is logged and tried again
    /// after a back-off, as a crashed worker is replaced: the master and the workers it already
    /// has go on serving.
    ///
    /// Signals stay blocked across the fork: the child starts with the master's handlers, which
    /// write to the master's signal pipe by descriptor number, and the child reuses those
    /// numbers for pipes of its own. It puts SIGHUP and SIGCHLD back to their defaults, and
    /// keeps SIGTERM, SIGINT and SIGUSR1 blocked until its own handlers for them are in place
    /// (each unblocks its signal): one that arrives meanwhile waits for them.
    private func spawn(_ work: @escaping () throws(ServerError) -> Void) {
        let master = getpid()
        var all = sigset_t()
        var previous = sigset_t()
        sigfillset(&all)
        pthread_sigmask(SIG_SETMASK, &all, &previous)
        let pid = fork()
        let cause = errno
        if pid == 0 {
            for number in [SIGHUP, SIGCHLD] { signal(number, SIG_DFL) }
            var waiting = previous
            for number in [SIGTERM, SIGINT, SIGUSR1] { sigaddset(&waiting, number) }
            pthread_sigmask(SIG_SETMASK, &waiting, nil)
            // A master killed outright (SIGKILL, the OOM killer) takes its workers with it, each
            // finishing its requests as on SIGTERM, rather than leaving them serving unsupervised.
            _ = obsession_set_parent_death_signal(SIGTERM)
            if getppid() != master { _exit(0) }
            signals?.closeInChild()
            // The child ends with _exit: exit would run the master's atexit handlers and the
            // runtime's destructors while a worker thread may still be unwinding (it has
            // signalled its end, not yet left), or, past the grace period, still serving.
            do {
                try work()
                fflush(nil)
                _exit(0)
            } catch {
                logLine("\(error)")
                fflush(nil)
                _exit(1)
            }
        }
        pthread_sigmask(SIG_SETMASK, &previous, nil)
        guard pid > 0 else {
            failedForks += 1
            let delay = Self.backOff(failedForks)
            logLine("cannot start a worker process: \(errnoDescription(cause)); trying again in \(delay) s")
            pendingRestarts.append(MonotonicClock.now + delay)
            return
        }
        failedForks = 0
        workers[pid] = Worker(generation: generation, started: MonotonicClock.now)
        logLine("started worker process \(pid)")
    }

    /// Seconds to wait after `failures` in a row: 0.1 doubled each time, at most 5.
    private static func backOff(_ failures: Int) -> Double {
        min(0.1 * Double(1 << min(failures, 6)), 5)
    }

    /// Collects the workers that ended and decides what replaces them.
    private func reap() {
        var status: Int32 = 0
        while true {
            let pid = waitpid(-1, &status, WNOHANG)
            guard pid > 0, let worker = workers.removeValue(forKey: pid) else { return }
            board.releaseSlot(of: pid)
            let exited = status & 0x7F == 0
            let code = (status >> 8) & 0xFF
            if worker.generation < generation {
                logLine("old worker process \(pid) finished (reload)")
            } else if exited && code == 0 {
                retirements += 1
                logLine("worker process \(pid) retired; starting its replacement")
                pendingRestarts.append(MonotonicClock.now)
            } else {
                let cause = exited ? "exited with status \(code)" : "was killed by signal \(status & 0x7F)"
                quickCrashes = MonotonicClock.now - worker.started < 10 ? quickCrashes + 1 : 0
                let delay = Self.backOff(quickCrashes)
                restarts += 1
                board.countRestart()
                logLine("worker process \(pid) \(cause); restarting it in \(delay) s")
                pendingRestarts.append(MonotonicClock.now + delay)
            }
        }
    }

    /// SIGHUP: a new generation of workers, then the old one stops gracefully.
    private func reload(_ work: @escaping () throws(ServerError) -> Void) {
        let old = workers.keys.filter { workers[$0]!.generation == generation }
        generation += 1
        logLine("reloading: starting \(max(configuration.processes, 1)) new worker processes")
        for _ in 0..<max(configuration.processes, 1) { spawn(work) }
        for pid in old { kill(pid, SIGTERM) }
    }

    /// SIGTERM or SIGINT: every worker finishes what it holds, within the grace period.
    private func stop() {
        logLine("stopping \(workers.count) worker processes")
        for pid in workers.keys { kill(pid, SIGTERM) }
        let deadline = MonotonicClock.now + Double(configuration.gracePeriod) + 1
        var status: Int32 = 0
        while !workers.isEmpty, MonotonicClock.now < deadline {
            let pid = waitpid(-1, &status, WNOHANG)
            if pid > 0 { workers[pid] = nil } else { usleep(20_000) }
        }
        for pid in workers.keys {
            logLine("worker process \(pid) did not stop in time; killing it")
            kill(pid, SIGKILL)
        }
        logLine("stopped")
    }

    /// SIGUSR1: its own line, then each worker process writes its own (busy, idle, served).
    private func logStatus() {
        let pids = workers.keys.sorted().map(String.init).joined(separator: " ")
        logLine("status: \(workers.count) worker processes (\(pids)), \(configuration.workers) workers each, "
                + "\(restarts) restarts, \(retirements) retirements, \(pendingRestarts.count) restarts pending")
        for pid in workers.keys { kill(pid, SIGUSR1) }
    }

}
