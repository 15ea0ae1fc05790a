import FastCGI
import Obsession

/// The connections to one Redis deployment, each lent to one request at a time (a hiredis
/// context is not thread-safe), opened on first need, and kept for the next request; so a
/// server keeps about one per worker thread. A connection that failed is dropped, and the next
/// request opens another, finding the master again through the sentinels if there are any.
final class RedisClient: Sendable {
    let server: RedisServer
    let sentinel: RedisSentinel?
    /// Seconds to connect, and to wait for each reply.
    let timeout: Double
    private let idle = Locked<[RedisConnection]>([])
    /// The master the sentinels named last; nil until asked, and after a failure.
    private let master = Locked<RedisServer.Endpoint?>(nil)
    /// Each script's SHA-1 as the server reported it, once loaded.
    private let scriptHashes = Locked<[String: String]>([:])

    init(server: RedisServer, sentinel: RedisSentinel?, timeout: Double) {
        self.server = server
        self.sentinel = sentinel
        self.timeout = timeout
    }

    /// Runs `body` with a connection of its own. A connection `body` leaves broken is dropped,
    /// and so is the master's address if it came from the sentinels.
    func withConnection<Result>(_ body: (RedisConnection) throws -> Result) throws -> Result {
        let connection = try lend()
        defer {
            if connection.isBroken {
                if sentinel != nil { master.withLock { $0 = nil } }
            } else {
                idle.withLock { $0.append(connection) }
            }
        }
        return try body(connection)
    }

    /// A kept connection the server has not closed meanwhile (after a restart, say), else a new one.
    private func lend() throws -> RedisConnection {
        while let kept = idle.withLock({ $0.popLast() }) {
            if !kept.closedByServer { return kept }
        }
        return try open()
    }

    /// Connects, logs in and selects the database in one round trip; with sentinels, to the
    /// master they name, checked to be a master still.
    private func open() throws -> RedisConnection {
        let endpoint: RedisServer.Endpoint
        if let sentinel {
            if let known = master.withLock({ $0 }) {
                endpoint = known
            } else {
                endpoint = try sentinel.findMaster(timeout: timeout)
                master.withLock { $0 = endpoint }
            }
        } else {
            endpoint = server.endpoint
        }
        let connection: RedisConnection
        do {
            connection = try RedisConnection(to: endpoint, timeout: timeout)
        } catch {
            // A master that cannot be reached is asked for again: a failover may have replaced it.
            if sentinel != nil { master.withLock { $0 = nil } }
            throw error
        }
        var commands: [[String]] = []
        if let password = server.password { commands.append(["AUTH"] + (server.user.map { [$0] } ?? []) + [password]) }
        if server.database != 0 { commands.append(["SELECT", String(server.database)]) }
        if sentinel != nil { commands.append(["ROLE"]) }
        guard !commands.isEmpty else { return connection }
        let replies = try connection.send(commands)
        for (command, reply) in zip(commands, replies) {
            if case .error(let message) = reply {
                if sentinel != nil { master.withLock { $0 = nil } }
                throw SessionError.unavailable("redis at \(endpoint): \(command[0]) refused: \(message)")
            }
        }
        if sentinel != nil, case .array(let role) = replies.last, role.first?.text != "master" {
            master.withLock { $0 = nil }
            throw SessionError.unavailable("redis at \(endpoint): not a master (a failover under way?)")
        }
        return connection
    }

    /// Runs `body` with a connection to the master; when a write answers READONLY (the master
    /// became a replica in a failover, and the write did not happen), once more on the master
    /// the sentinels name now.
    func onMaster<Result>(_ body: (RedisConnection) throws -> Result) throws -> Result {
        do {
            return try withConnection(body)
        } catch Failover.readOnly where sentinel != nil {
            do {
                return try withConnection(body)
            } catch Failover.readOnly {}
        } catch Failover.readOnly {}
        throw SessionError.unavailable("redis: the server is a replica now (a failover under way?); nothing was written")
    }

    /// Runs `script` by its hash (loading it the first time, and again after NOSCRIPT: a
    /// restarted or failed-over server has forgotten it) on the master, acknowledged by
    /// `replicas` (see ``write(_:replicas:on:)``).
    func run(_ script: RedisScript, keys: [String], arguments: [[UInt8]], replicas: Int = 0) throws -> RedisReply {
        try onMaster { try run(script, keys: keys, arguments: arguments, replicas: replicas, on: $0) }
    }

    /// A write refused because the server is a replica now.
    enum Failover: Error { case readOnly }

    private func run(_ script: RedisScript, keys: [String], arguments: [[UInt8]], replicas: Int,
                     on connection: RedisConnection) throws -> RedisReply {
        let hash = try scriptHashes.withLock({ $0[script.name] }) ?? load(script, on: connection)
        let head = [Array("EVALSHA".utf8), Array(hash.utf8), Array(String(keys.count).utf8)] + keys.map { Array($0.utf8) }
        do {
            return try write(head + arguments, replicas: replicas, on: connection)
        } catch SessionError.backendFailed(let message, _) where message.contains("NOSCRIPT") {
            _ = try load(script, on: connection)
            return try write(head + arguments, replicas: replicas, on: connection)
        }
    }

    /// Sends `command`, followed in the same round trip by `WAIT replicas` when `replicas` is
    /// above 0: the write counts only once that many replicas have it, within half the timeout
    /// (so that the answer comes before the connection's own timeout), else 503. A Redis error
    /// is ``SessionError/backendFailed(_:errno:)``; READONLY breaks the connection and throws
    /// ``Failover/readOnly``.
    func write(_ command: [[UInt8]], replicas: Int, on connection: RedisConnection) throws -> RedisReply {
        var commands = [command]
        if replicas > 0 { commands.append(["WAIT", String(replicas), String(Int(timeout * 500))].map { Array($0.utf8) }) }
        let replies = try connection.send(commands)
        if case .error(let message) = replies[0] {
            if message.hasPrefix("READONLY") {
                connection.markBroken()
                throw Failover.readOnly
            }
            let name = String(decoding: command[0], as: UTF8.self)
            throw SessionError.backendFailed("redis at \(connection.endpoint): \(name) failed: \(message)")
        }
        if replicas > 0 {
            guard case .integer(let acknowledged) = replies[1], acknowledged >= replicas else {
                throw SessionError.unavailable("redis at \(connection.endpoint): the write reached \(replies[1]) of the \(replicas) "
                                               + "replicas required within \(timeout / 2) s")
            }
        }
        return replies[0]
    }

    /// Loads `script` into the server's script cache and remembers its hash.
    private func load(_ script: RedisScript, on connection: RedisConnection) throws -> String {
        let reply = try connection.command(["SCRIPT", "LOAD", script.source])
        guard let hash = reply.text, case .string = reply else {
            throw SessionError.backendFailed("redis at \(connection.endpoint): cannot load the \(script.name) script: \(reply)")
        }
        scriptHashes.withLock { $0[script.name] = hash }
        return hash
    }
}
