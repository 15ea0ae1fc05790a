import Foundation
import ObsessionRedis

/// A real redis-server from Debian's package, on a free loopback port and a Unix socket in the
/// test's directory, its data there too; `configuration` adds lines to its config file
/// (`appendonly yes`, `replicaof …`, ACL users). Or a redis-sentinel, on a port only. Stopped
/// when dropped; ``stop()`` and ``start()`` restart it on the same port and data, as an
/// administrator's restart does.
package final class RedisProcess {
    package static let executable = "/usr/bin/redis-server"
    package static let sentinelExecutable = "/usr/bin/redis-sentinel"
    package let port: UInt16
    private let executable: String
    package let socketPath: String
    private let directory: TemporaryDirectory
    private let name: String
    private let configPath: String
    private var child: ChildProcess?

    package init(in directory: TemporaryDirectory, name: String = "redis", configuration: [String] = [], sentinel: Bool = false) throws {
        port = try freePort()
        self.directory = directory
        self.name = name
        executable = sentinel ? Self.sentinelExecutable : Self.executable
        socketPath = directory.file("\(name).sock")
        let data = directory.file("\(name)-data")
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        configPath = directory.file("\(name).conf")
        let base = sentinel ? [] : ["unixsocket \(socketPath)", "unixsocketperm 700", "save \"\"", "appendonly no"]
        try (["bind 127.0.0.1", "port \(port)", "dir \(data)", "daemonize no", "logfile \"\""] + base + configuration)
            .joined(separator: "\n").write(toFile: configPath, atomically: false, encoding: .utf8)
        try start()
    }

    deinit { stop() }

    /// `redis://127.0.0.1:PORT/database` with `login` (`user:password@`) before the host.
    package func url(database: Int = 0, login: String = "") -> String { "redis://\(login)127.0.0.1:\(port)/\(database)" }

    package var server: RedisServer { RedisServer(.tcp(host: "127.0.0.1", port: Int(port))) }

    package var log: String { child?.output ?? "" }

    /// Starts it (again, after ``stop()``), on the same port and data.
    package func start() throws {
        let started = try ChildProcess(executable, [configPath], in: directory, name: name)
        child = started
        guard waitUntilAccepting("127.0.0.1:\(port)") else { throw TestFailure("\(name) did not start: \(started.output)") }
        // Accepting is not ready: a server answers LOADING until its data is read back.
        guard executable == Self.sentinelExecutable || waitUntil(seconds: 10, { (try? cli("PING")) == "PONG" }) else {
            throw TestFailure("\(name) did not finish loading: \(started.output)")
        }
    }

    /// Stops it: SIGTERM, which writes the append-only file out, as `systemctl stop` does.
    package func stop() {
        child?.signal(SIGTERM)
        _ = child?.waitForExit(seconds: 10)
        child = nil
    }

    /// Kills it at once, as a crash would.
    package func kill() {
        child?.signal(SIGKILL)
        _ = child?.waitForExit(seconds: 10)
        child = nil
    }

    package func restart() throws {
        stop()
        try start()
    }

    /// Runs `redis-cli` against it with `arguments`, and returns what it printed.
    @discardableResult
    package func cli(_ arguments: String...) throws -> String {
        try cli(arguments)
    }

    /// The same, with an array.
    @discardableResult
    package func cli(_ arguments: [String]) throws -> String {
        let output = try ChildProcess("/usr/bin/redis-cli", ["-p", String(port)] + arguments, in: directory, name: "\(name)-cli")
        _ = output.waitForExit(seconds: 10)
        return output.output.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
