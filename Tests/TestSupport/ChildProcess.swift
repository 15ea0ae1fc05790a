import Foundation

/// A program started for a test with `posix_spawn`, its stdout and stderr collected in files;
/// killed when dropped if still running. (Foundation's `Process` reaps children from one
/// monitor thread that can block on one child while another stays a zombie.)
package final class ChildProcess {
    package let pid: pid_t
    package let outputPath: String
    package let errorPath: String
    private var exitStatus: Int32?

    /// Starts `executable` with `arguments`; `environment` adds to (or, with
    /// `replaceEnvironment`, replaces) the test's own; `standardInput` becomes descriptor 0
    /// (default /dev/null).
    package init(_ executable: String, _ arguments: [String], in directory: TemporaryDirectory, name: String,
         environment: [String: String] = [:], replaceEnvironment: Bool = false,
         standardInput: Int32? = nil, blockedSignals: [Int32] = []) throws {
        outputPath = directory.file("\(name).out")
        errorPath = directory.file("\(name).err")
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if let standardInput {
            posix_spawn_file_actions_adddup2(&actions, standardInput, 0)
        } else {
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        }
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, errorPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        // Nothing else of the test process: not other tests' sockets, nor the pipe to
        // `swift test`, which a program left running by a crashed test would hold open, so that
        // `swift test` waited for ever.
        guard let closeFrom = Self.addCloseFrom, closeFrom(&actions, 3) == 0 else {
            throw TestFailure("cannot make \(executable) start without the test's descriptors")
        }
        let variables = replaceEnvironment
            ? environment : ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = variables.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        // Start it as a shell would: every signal at its default, none blocked but those asked.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var signals = sigset_t()
        sigemptyset(&signals)
        for blocked in blockedSignals { sigaddset(&signals, blocked) }
        posix_spawnattr_setsigmask(&attributes, &signals)
        sigfillset(&signals)
        posix_spawnattr_setsigdefault(&attributes, &signals)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var pid: pid_t = 0
        let result = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        guard result == 0 else { throw TestFailure("cannot start \(executable): \(String(cString: strerror(result)))") }
        self.pid = pid
    }

    package var output: String { (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "" }
    package var errorOutput: String { (try? String(contentsOfFile: errorPath, encoding: .utf8)) ?? "" }

    package func signal(_ number: Int32) { if isRunning { kill(pid, number) } }

    /// Whether the program still runs; reaps it once it ended.
    package var isRunning: Bool {
        guard exitStatus == nil else { return false }
        var status: Int32 = 0
        guard waitpid(pid, &status, WNOHANG) == pid else { return true }
        // Exit code, or 128 + signal number as a shell reports it.
        exitStatus = status & 0x7F == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
        return false
    }

    /// Waits for the program to exit, for at most `seconds`; its status, or nil if it still runs.
    package func waitForExit(seconds: Double = 20) -> Int32? {
        guard waitUntil(seconds: seconds, { !isRunning }) else { return nil }
        return exitStatus
    }

    /// glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34 and later), which Swift's Glibc
    /// module leaves out: it is declared for `_GNU_SOURCE` only.
    private static let addCloseFrom = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np").map {
        unsafeBitCast($0, to: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32).self)
    }

    deinit {
        if isRunning {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
    }
}

/// The `hello` example serving FastCGI on a socket in `directory`.
package final class HelloServer {
    package let socketPath: String
    package let child: ChildProcess

    package init(in directory: TemporaryDirectory, workers: Int = 2, extraArguments: [String] = [],
         environment: [String: String] = [:], blockedSignals: [Int32] = []) throws {
        socketPath = directory.file("hello.sock")
        child = try ChildProcess(TestEnvironment.executable("hello"),
                                 ["--listen", "unix:\(socketPath)", "--socket-mode", "666", "--workers", "\(workers)"] + extraArguments,
                                 in: directory, name: "hello", environment: environment,
                                 blockedSignals: blockedSignals)
        guard waitUntilAccepting("unix:" + socketPath) else {
            throw TestFailure("hello did not start: \(child.errorOutput)")
        }
    }
}

/// A failure of the test's own set-up, with what went wrong.
package struct TestFailure: Error, CustomStringConvertible {
    package let description: String
    package init(_ description: String) { self.description = description }
}
