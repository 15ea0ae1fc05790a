import FastCGI
public import Obsession

/// Sessions in Redis, shared by every responder on every machine that reaches the server.
///
/// Each session is one hash, and a save is one round trip: a server-side script that sets the
/// keys the request changed, removes those it removed, and renews the expiry, all at once. Two
/// requests changing different keys of one session both win, and a session deleted or cycled
/// meanwhile stays gone: where other stores overwrite the whole session, this one merges key by
/// key, top-level keys only, values opaque. A read is one `HGETALL`. Redis expires sessions
/// itself (the key's TTL is the lesser of the idle timeout and what is left of the absolute
/// lifetime), so no garbage collection is needed; the timeouts given here must be those of the
/// ``SessionMiddleware``.
///
/// With ``SessionLocking/exclusive(timeout:)``, a request holds a session from its load to its
/// end through a lock key (`SET NX PX` with a random token, released only by its holder),
/// which a killed process cannot hold for longer than `lockExpiry`.
///
/// When Redis cannot be reached, a request that uses its session gets 503 with `Retry-After`
/// and nothing is written; requests that do not touch the session are not affected, and
/// service resumes by itself when Redis is back.
///
/// ```swift
/// let backend = RedisBackend(try RedisServer(url: "redis://127.0.0.1:6379/0"), idleTimeout: 1800)
/// FastCGIServer.main { _ in SessionMiddleware(application, backend: backend, idleTimeout: 1800) }
///
/// // Behind Redis Sentinel, each save acknowledged by one replica before it counts.
/// let sentinel = try RedisSentinel(addresses: "10.0.0.7,10.0.0.8,10.0.0.9", master: "sessions")
/// let durable = RedisBackend(try RedisServer(url: "redis://:secret@sessions/0"), sentinel: sentinel, replicas: 1)
/// ```
public final class RedisBackend: SessionBackend {
    /// The server; with sentinels, only its login and database are used.
    public var server: RedisServer { client.server }
    /// How concurrent requests of one session are reconciled.
    public let locking: SessionLocking
    /// Replicas that must acknowledge each write (`WAIT`) before a request counts it done.
    public let replicas: Int
    /// Seconds of idleness after which Redis expires a session.
    public let idleTimeout: Int
    /// Seconds after its creation after which Redis expires a session; nil for none.
    public let absoluteTimeout: Int?
    private let clock: any SessionClock
    /// What every key starts with, before the session's id in braces (a Redis Cluster hash tag).
    public let keyPrefix: String
    /// Seconds after which a lock whose holder died lapses.
    public let lockExpiry: Double
    let client: RedisClient

    /// A store on `server` (or on the master `sentinel` names).
    ///
    /// - Parameters:
    ///   - server: the server, its login and database.
    ///   - sentinel: sentinels to find the master through; nil to use `server` itself.
    ///   - locking: ``SessionLocking/merge`` (the default) or exclusive holds.
    ///   - replicas: replicas that must acknowledge every write within `timeout`, else the
    ///     request gets 503; 0 (the default) waits for none.
    ///   - idleTimeout: the middleware's idle timeout, in seconds.
    ///   - absoluteTimeout: the middleware's absolute timeout, in seconds, or nil.
    ///   - keyPrefix: what keys start with.
    ///   - timeout: seconds to connect, and to wait for each reply.
    ///   - lockExpiry: seconds an exclusive lock outlives a holder that died; longer than any
    ///     request runs.
    ///   - clock: the time TTLs run from: a save or touch stamped later or earlier than it (a
    ///     remembered session, an id cycled away) lives that much longer or shorter.
    ///
    /// ```swift
    /// let backend = RedisBackend(try RedisServer(url: "unix:///run/redis/redis-server.sock"),
    ///                            locking: .exclusive(timeout: 5))
    /// ```
    public init(_ server: RedisServer, sentinel: RedisSentinel? = nil, locking: SessionLocking = .merge, replicas: Int = 0,
                idleTimeout: Int = 1440, absoluteTimeout: Int? = nil, keyPrefix: String = "obsession:",
                timeout: Double = 1, lockExpiry: Double = 60, clock: any SessionClock = SystemClock()) {
        client = RedisClient(server: server, sentinel: sentinel, timeout: timeout)
        self.locking = locking
        self.replicas = max(replicas, 0)
        self.idleTimeout = max(idleTimeout, 1)
        self.absoluteTimeout = absoluteTimeout
        self.keyPrefix = keyPrefix
        self.lockExpiry = lockExpiry
        self.clock = clock
    }

    /// The hash of session `id`.
    func key(_ id: SessionID) -> String { "\(keyPrefix){\(id.text)}" }
    /// Its lock, in the same hash slot.
    func lockKey(_ id: SessionID) -> String { "\(keyPrefix){\(id.text)}:lock" }
    /// The set of `user`'s sessions.
    func userKey(_ user: String) -> String { "\(keyPrefix)user:\(user)" }

    /// The idle and absolute timeouts a save or touch at `time` passes its script: longer by
    /// how far `time` is ahead of the clock (a remembered session's, see `Session.storeTime`),
    /// shorter by how far it is behind (an id cycled away, kept for its grace period), so that
    /// the TTL runs from now.
    private func timeouts(at time: Int) -> (idle: Int, absolute: Int) {
        let ahead = time - clock.now
        return (idleTimeout + ahead, absoluteTimeout.map { $0 + ahead } ?? 0)
    }

    /// The session in its hash: one `HGETALL`.
    public func load(_ id: SessionID) throws -> StoredSession? {
        let reply = try client.withConnection { try $0.command(["HGETALL", key(id)]) }
        return try RedisSessionHash.decode(reply, id: id)
    }

    /// Applies `changes` with the save script: one `EVALSHA`.
    public func apply(_ changes: SessionChanges, to id: SessionID) throws -> SessionChanges.Outcome {
        try apply(changes, to: id, token: nil)
    }

    /// Applies `changes` with the save script; under an exclusive hold, only while the lock
    /// `token` names is still held.
    func apply(_ changes: SessionChanges, to id: SessionID, token: String?) throws -> SessionChanges.Outcome {
        var arguments: [[UInt8]]
        switch changes.kind {
        case .create(let createdAt): arguments = [Array("create".utf8), Array(String(createdAt).utf8)]
        case .update: arguments = [Array("update".utf8), []]
        }
        let timeouts = timeouts(at: changes.time)
        arguments += [Array(String(changes.time).utf8), Array(String(timeouts.idle).utf8), Array(String(timeouts.absolute).utf8),
                      Array((token ?? "").utf8),
                      Array(String(StoredSession.maxDataSize).utf8), Array(String(changes.set.count).utf8)]
        for (name, value) in changes.set {
            arguments.append(RedisSessionHash.field(name))
            arguments.append(try RedisSessionHash.encode(value, key: name))
        }
        for name in changes.removed { arguments.append(RedisSessionHash.field(name)) }
        // A login goes into the user's set in the same script: the index never misses the session.
        let keys = [key(id), lockKey(id)] + (changes.user.map { [userKey($0)] } ?? [])
        let reply = try client.run(.save, keys: keys, arguments: arguments, replicas: replicas)
        switch reply.text {
        case "applied": return .applied(revision: nil)
        case "exists": return .exists
        case "gone": return .gone
        case "large":
            throw SessionError.backendFailed("session \(id.tag): the save would make it larger than \(StoredSession.maxDataSize) bytes; not saved")
        case "lost":
            throw SessionError.backendFailed("session \(id.tag): its lock lapsed after \(lockExpiry) s, before the save; not saved")
        default:
            throw SessionError.backendFailed("redis: the save script answered \(reply)")
        }
    }

    /// Deletes the session's hash: one `DEL`.
    public func delete(_ id: SessionID) throws {
        _ = try client.onMaster { try client.write([Array("DEL".utf8), Array(key(id).utf8)], replicas: replicas, on: $0) }
    }

    /// Marks the session used and renews its TTL, with the touch script; nothing is made for a
    /// session not stored.
    public func touch(_ id: SessionID, at time: Int) throws {
        let timeouts = timeouts(at: time)
        _ = try client.run(.touch, keys: [key(id)], arguments: [
            Array(String(time).utf8), Array(String(timeouts.idle).utf8), Array(String(timeouts.absolute).utf8),
        ], replicas: replicas)
    }

    /// Exclusive holds with ``SessionLocking/exclusive(timeout:)``; none with merging.
    public var holding: (any SessionHolding)? {
        if case .exclusive = locking { self } else { nil }
    }
}

extension RedisBackend: SessionUserIndexing {
    /// The members of the user's set: `SMEMBERS`.
    public func recordedSessions(ofUser user: String) throws -> [SessionID] {
        let reply = try client.withConnection { try $0.command(["SMEMBERS", userKey(user)]) }
        guard case .array(let members) = reply else { throw SessionError.backendFailed("redis: SMEMBERS answered \(reply)") }
        return members.compactMap { $0.text.flatMap { SessionID(validating: $0) } }
    }

    /// Removes the id from the user's set: `SREM`.
    public func forget(_ id: SessionID, ofUser user: String) throws {
        _ = try client.onMaster {
            try client.write([Array("SREM".utf8), Array(userKey(user).utf8), Array(id.text.utf8)], replicas: replicas, on: $0)
        }
    }
}

extension RedisBackend: SessionListing {
    /// Every session's key, by `SCAN` over the key prefix, a thousand at a time.
    public func forEachSession(_ body: (SessionID) throws -> Bool) throws {
        var cursor = "0"
        repeat {
            let reply = try client.withConnection { try $0.command(["SCAN", cursor, "MATCH", "\(keyPrefix){*}", "COUNT", "1000"]) }
            guard case .array(let parts) = reply, parts.count == 2, let next = parts[0].text, case .array(let keys) = parts[1] else {
                throw SessionError.backendFailed("redis: SCAN answered \(reply)")
            }
            for key in keys {
                guard let text = key.text, text.hasSuffix("}"),
                      let id = SessionID(validating: String(text.dropFirst(keyPrefix.utf8.count + 1).dropLast())) else { continue }
                if try !body(id) { return }
            }
            cursor = next
        } while cursor != "0"
    }
}
