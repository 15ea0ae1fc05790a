import Foundation
import TestSupport
import Testing

/// The supervisor under load (wrk through nginx): a worker process killed, a reload, retirement
/// after --max-requests, a stop; and the request that makes libfcgi abort (CVE-2025-23016).
@Suite(.serialized, .requires("/usr/sbin/nginx", "/usr/bin/wrk", "/usr/bin/setpriv", "/usr/bin/prlimit")) struct SupervisorTests {
    /// wrk's counts for one run.
    struct Load {
        let requests: Int
        let failed: Int
    }

    final class Supervised {
        let master: ChildProcess
        let nginx: Nginx
        let socket: String

        init(in directory: TemporaryDirectory, arguments: [String]) throws {
            socket = directory.file("app.sock")
            master = try ChildProcess.demo(listening: "unix:\(socket)", sessions: directory.file("sessions"),
                                           arguments: ["--cookie-secure", "off"] + arguments, in: directory, name: "master")
            nginx = try Nginx(upstream: "unix:\(socket)", in: directory)
            // Every worker process forked, as --processes asks.
            let processes = arguments.firstIndex(of: "--processes").flatMap { Int(arguments[$0 + 1]) } ?? 1
            guard waitUntil({ workerPIDs.count == processes }) else { throw TestFailure("\(processes) worker processes did not start") }
        }

        var workerPIDs: [Int32] {
            let directory = try? TemporaryDirectory()
            guard let directory, let pgrep = try? ChildProcess("/usr/bin/pgrep", ["-P", "\(master.pid)"], in: directory, name: "pgrep"),
                  pgrep.waitForExit() != nil else { return [] }
            return pgrep.output.split(separator: "\n").compactMap { Int32($0) }
        }

        /// Runs wrk for `seconds` against POST /incr while `during` runs, and counts.
        func load(seconds: Int, in directory: TemporaryDirectory, during: () -> Void) throws -> Load {
            let wrk = try ChildProcess("/usr/bin/wrk", ["-t1", "-c8", "-d\(seconds)s", "-s", directory.file("post.lua"),
                                                       "http://127.0.0.1:\(nginx.port)/incr?key=n"], in: directory, name: "wrk")
            usleep(700_000)
            during()
            #expect(wrk.waitForExit(seconds: Double(seconds) + 10) == 0)
            let output = wrk.output
            let requests = output.split(separator: "\n").first { $0.contains("requests in") }
                .flatMap { Int($0.split(separator: " ").first ?? "") } ?? 0
            let failed = output.split(separator: "\n").first { $0.contains("Non-2xx or 3xx responses:") }
                .flatMap { Int($0.split(separator: " ").last ?? "") } ?? 0
            let socketErrors = output.contains("Socket errors") ? 1 : 0
            return Load(requests: requests, failed: failed + socketErrors)
        }
    }

    func postScript(in directory: TemporaryDirectory) throws {
        try "wrk.method = \"POST\"\n".write(toFile: directory.file("post.lua"), atomically: false, encoding: .utf8)
    }

    @Test func killedWorkerProcessCostsOnlyTheRequestsItHeld() throws {
        let directory = try TemporaryDirectory()
        try postScript(in: directory)
        let served = try Supervised(in: directory, arguments: ["--processes", "2", "--workers", "2"])
        let before = served.workerPIDs
        #expect(before.count == 2)
        let load = try served.load(seconds: 3, in: directory) { kill(before[0], SIGKILL) }
        print("killed one worker process under load: \(load.failed) of \(load.requests) requests failed")
        #expect(load.requests > 100)
        #expect(load.failed <= 2, "at most the 2 requests the killed process held")
        #expect(served.master.errorOutput.contains("worker process \(before[0]) was killed by signal 9; restarting it"))
        #expect(waitUntil { served.workerPIDs.count == 2 && !served.workerPIDs.contains(before[0]) })
    }

    @Test func reloadUnderLoadFailsNoRequest() throws {
        let directory = try TemporaryDirectory()
        try postScript(in: directory)
        let served = try Supervised(in: directory, arguments: ["--processes", "2", "--workers", "2"])
        let before = Set(served.workerPIDs)
        let load = try served.load(seconds: 3, in: directory) { served.master.signal(SIGHUP) }
        print("reload under load: \(load.failed) of \(load.requests) requests failed")
        #expect(load.requests > 100)
        #expect(load.failed == 0)
        #expect(waitUntil { Set(served.workerPIDs).isDisjoint(with: before) && served.workerPIDs.count == 2 })
    }

    @Test func retirementAfterMaxRequestsFailsNoRequest() throws {
        let directory = try TemporaryDirectory()
        try postScript(in: directory)
        let served = try Supervised(in: directory, arguments: ["--processes", "2", "--workers", "2", "--max-requests", "100"])
        let load = try served.load(seconds: 3, in: directory) {}
        let retirements = served.master.errorOutput.components(separatedBy: "retired; starting its replacement").count - 1
        print("retirement under load: \(retirements) retirements, \(load.failed) of \(load.requests) requests failed")
        #expect(load.requests > 500)
        #expect(retirements >= 4)
        #expect(load.failed == 0)
    }

    @Test func failedForkIsRetriedAndTheSupervisorStays() throws {
        let directory = try TemporaryDirectory()
        #expect(chmod(directory.path, 0o777) == 0)
        let socket = directory.file("hello.sock")
        let nobody = ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
        // An unprivileged user, whose process limit the kernel enforces (root's it does not).
        let limit = 16
        let master = try ChildProcess("/usr/bin/prlimit",
                                      ["--nproc=\(limit):\(limit)"] + nobody + [TestEnvironment.executable("hello"), "--listen", "unix:\(socket)",
                                       "--socket-mode", "666", "--workers", "1", "--max-requests", "3"],
                                      in: directory, name: "hello")
        #expect(waitUntilAccepting("unix:\(socket)"), "\(master.errorOutput)")
        let nginx = try Nginx(upstream: "unix:\(socket)", in: directory)
        // Other processes of the same user take every place but the master's threads', so that
        // the places the worker process frees when it retires are taken.
        var others = try (0..<(limit - ProcessInspection.threads(of: master.pid))).map {
            try ChildProcess(nobody[0], Array(nobody.dropFirst()) + ["/bin/sleep", "60"], in: directory, name: "sleep\($0)")
        }
        for _ in 0..<3 { #expect(try nginx.request("/").status == 200) }
        // The worker retires; its replacement cannot be forked (EAGAIN).
        #expect(waitUntil { master.errorOutput.contains("cannot start a worker process: resource temporarily unavailable") },
                "\(master.errorOutput)")
        usleep(500_000)
        #expect(master.isRunning, "the supervisor must outlive a failed fork: \(master.errorOutput)")
        others = []
        #expect(waitUntil { (try? nginx.request("/").status) == 200 }, "\(master.errorOutput)")
    }

    @Test func statusRequestsDuringRetirementsStopNoFreshWorker() throws {
        let directory = try TemporaryDirectory()
        let socket = directory.file("hello.sock")
        let master = try ChildProcess(TestEnvironment.executable("hello"),
                                      ["--listen", "unix:\(socket)", "--socket-mode", "666", "--processes", "2", "--workers", "1",
                                       "--max-requests", "1"], in: directory, name: "hello")
        #expect(waitUntilAccepting("unix:\(socket)"))
        let nginx = try Nginx(upstream: "unix:\(socket)", in: directory)
        let storm = StopFlag()
        let pid = master.pid
        // SIGUSR1 every half millisecond: the master passes each on to every worker process, the
        // one it has just forked included.
        let stormer = Thread {
            while !storm.isStopped {
                kill(pid, SIGUSR1)
                usleep(500)
            }
        }
        stormer.start()
        for _ in 0..<150 { _ = try? nginx.request("/") }
        storm.stop()
        usleep(200_000)
        // A worker process stops only after its one request: a stop without a retirement before it
        // is a fresh worker that ran the master's handler and wrote into its own shutdown pipe.
        let lines = master.errorOutput.split(separator: "\n")
        let processID = { (line: Substring) in line.split(separator: "]").first.map(String.init) ?? "" }
        let retired = Set(lines.filter { $0.contains("retiring after 1 requests") }.map(processID))
        let stopped = Set(lines.filter { $0.contains("stopping: finishing requests in flight") }.map(processID))
        #expect(retired.count > 100)
        #expect(stopped.subtracting(retired).isEmpty, "stopped without retiring: \(stopped.subtracting(retired))")
    }

    @Test func sigtermStopsEveryProcess() throws {
        let directory = try TemporaryDirectory()
        let served = try Supervised(in: directory, arguments: ["--processes", "3"])
        let workers = served.workerPIDs
        #expect(workers.count == 3)
        served.master.signal(SIGTERM)
        #expect(served.master.waitForExit(seconds: 15) == 0)
        #expect(workers.allSatisfy { kill($0, 0) != 0 })
    }

    @Test func killedMasterTakesItsWorkersWithIt() throws {
        let directory = try TemporaryDirectory()
        let served = try Supervised(in: directory, arguments: ["--processes", "2"])
        let workers = served.workerPIDs
        #expect(workers.count == 2)
        served.master.signal(SIGKILL)
        _ = served.master.waitForExit()
        #expect(waitUntil(seconds: 15) { !workers.contains(where: isRunning) }, "left running: \(workers.filter(isRunning))")
    }

    /// Whether `pid` is a process that has not ended (an orphan's zombie has).
    func isRunning(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let state = stat.split(separator: ")").last?.split(separator: " ").first else { return false }
        return state != "Z"
    }

    @Test func requestThatMakesLibfcgiAbortCostsOnlyThatProcess() throws {
        let directory = try TemporaryDirectory()
        let served = try Supervised(in: directory, arguments: ["--processes", "2", "--workers", "2"])
        // CVE-2025-23016: two parameter lengths of 0x7ffffffe overflow libfcgi's allocation,
        // which Debian's build turns into an assertion: the process aborts.
        let client = try FastCGIClient(unixPath: served.socket)
        try client.send(FastCGIClient.record(1, [0, 1, 0, 0, 0, 0, 0, 0])
                        + FastCGIClient.record(4, [0xFF, 0xFF, 0xFF, 0xFE, 0xFF, 0xFF, 0xFF, 0xFE, 65, 65]))
        _ = try? client.readStdout()
        client.close()
        #expect(waitUntil { served.master.errorOutput.contains("was killed by signal 6; restarting it") },
                "\(served.master.errorOutput)")
        for index in 0..<20 {
            #expect(try served.nginx.request("/session.json?i=\(index)").status == 200)
        }
        // The replacement must start: this check found restarts lost between two clock readings.
        #expect(waitUntil { served.workerPIDs.count == 2 }, "\(served.workerPIDs) \(served.master.errorOutput)")
    }

    @Test func sigusr1DumpsTheStateOfEveryProcess() throws {
        let directory = try TemporaryDirectory()
        let served = try Supervised(in: directory, arguments: ["--processes", "2", "--workers", "3"])
        for _ in 0..<10 { #expect(try served.nginx.request("/session.json").status == 200) }
        // A worker counts a request served once libfcgi has closed its connection, which can be
        // just after nginx has the answer: ask until both processes report all ten, idle.
        let workerLine = "status: 3 workers, "
        var reports: [Substring] = []
        for _ in 0..<20 {
            let before = served.master.errorOutput.components(separatedBy: workerLine).count
            served.master.signal(SIGUSR1)
            #expect(waitUntil { served.master.errorOutput.components(separatedBy: workerLine).count == before + 2 },
                    "\(served.master.errorOutput)")
            reports = served.master.errorOutput.split(separator: "\n").filter { $0.contains(workerLine) }.suffix(2)
            if reports.allSatisfy({ $0.contains("0 busy, 3 idle") }) && Self.requestsServed(in: reports) == 10 { break }
            usleep(100_000)
        }
        #expect(served.master.errorOutput.contains("status: 2 worker processes ("), "\(served.master.errorOutput)")
        #expect(reports.count == 2 && reports.allSatisfy { $0.contains("0 busy, 3 idle") }, "\(reports)")
        #expect(Self.requestsServed(in: reports) == 10, "\(reports)")
    }

    /// The sum of the `N requests served` counts in worker status lines.
    static func requestsServed(in lines: [Substring]) -> Int {
        lines.compactMap { line in
            let words = line.split(separator: " ")
            return words.firstIndex(of: "requests").flatMap { Int(words[$0 - 1]) }
        }.reduce(0, +)
    }
}
