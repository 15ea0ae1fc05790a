public import Obsession
public import ObsessionPHP

/// PHP's sessions in Redis as phpredis keeps them (`session.save_handler = redis`), shared
/// with the PHP pages of a site moving to Swift.
///
/// Each session is the string `PHPREDIS_SESSION:<id>`, PHP's serialized session data, with
/// `session.gc_maxlifetime` as its TTL. Every request holds the session from its load to its
/// end with phpredis's own lock, `<key>_LOCK` taken with `SET NX PX` and a random token and
/// released only by its holder, so that Swift and PHP requests run one after the other: turn
/// it on for PHP too (`redis.session.locking_enabled = 1`), or PHP's writes still overwrite
/// the whole session. A save changes only the keys the request changed and writes the rest
/// back byte for byte, PHP objects included. phpredis keeps no times: a session's
/// modification time is read from its TTL, and there is no creation time (an absolute timeout
/// does not apply).
///
/// ```swift
/// let backend = PHPRedisBackend(try RedisServer(url: "redis://127.0.0.1:6379"),
///                               idFormat: .php(length: 26, bitsPerCharacter: 5), lifetime: 1440)
/// ```
public final class PHPRedisBackend: SessionBackend {
    /// `session.serialize_handler`.
    public let format: PHPSessionFormat
    /// `session.sid_length` and `session.sid_bits_per_character`.
    public let idFormat: SessionIDFormat
    /// `session.gc_maxlifetime`: each session's TTL, in seconds.
    public let lifetime: Int
    /// What keys start with: phpredis's `prefix` (default `PHPREDIS_SESSION:`).
    public let keyPrefix: String
    /// Seconds a request waits for a session another request holds, then 503.
    public let lockTimeout: Double
    /// Seconds after which the lock of a request that died lapses.
    public let lockExpiry: Double
    let client: RedisClient
    let clock: any SessionClock

    /// A store on `server`.
    ///
    /// ```swift
    /// let backend = PHPRedisBackend(try RedisServer(url: "unix:///run/redis/redis.sock"), format: .phpSerialize)
    /// ```
    public init(_ server: RedisServer, format: PHPSessionFormat = .php, idFormat: SessionIDFormat = .php(),
                lifetime: Int = 1440, keyPrefix: String = "PHPREDIS_SESSION:", lockTimeout: Double = 30,
                lockExpiry: Double = 30, timeout: Double = 1, clock: any SessionClock = SystemClock()) {
        client = RedisClient(server: server, sentinel: nil, timeout: timeout)
        self.format = format
        self.idFormat = idFormat
        self.lifetime = max(lifetime, 1)
        self.keyPrefix = keyPrefix
        self.lockTimeout = lockTimeout
        self.lockExpiry = lockExpiry
        self.clock = clock
    }

    func key(_ id: SessionID) -> String { keyPrefix + id.text }
    func lockKey(_ id: SessionID) -> String { keyPrefix + id.text + "_LOCK" }

    /// The session, read under its lock, let go at once.
    public func load(_ id: SessionID) throws -> StoredSession? {
        guard let hold = try hold(id) else { return nil }
        defer { hold.release() }
        return try hold.load()
    }

    /// A new session where none is, or a change under the session's lock.
    public func apply(_ changes: SessionChanges, to id: SessionID) throws -> SessionChanges.Outcome {
        guard case .create = changes.kind else {
            guard let hold = try hold(id) else { return .gone }
            defer { hold.release() }
            return try hold.apply(changes)
        }
        return try PHPRedisHold(backend: self, id: id, token: nil, entries: [], modified: changes.time).apply(changes)
    }

    /// Deletes the session, as PHP's `session_destroy()` does.
    public func delete(_ id: SessionID) throws {
        _ = try client.onMaster { try client.write([Array("DEL".utf8), Array(key(id).utf8)], replicas: 0, on: $0) }
    }

    /// Renews the session's TTL, as phpredis does for a session it reads and does not change.
    public func touch(_ id: SessionID, at time: Int) throws {
        _ = try client.onMaster {
            try client.write(["EXPIRE", key(id), String(lifetime)].map { Array($0.utf8) }, replicas: 0, on: $0)
        }
    }

    /// Writes `entries` as the session's data.
    func write(_ entries: [PHPSessionFormat.Entry], kind: SessionChanges.Kind, to id: SessionID, token: String?) throws
        -> SessionChanges.Outcome {
        let data: [UInt8]
        do {
            data = try format.encode(entries)
        } catch {
            throw SessionError.coding("\(error)")
        }
        let mode = if case .create = kind { "create" } else { "update" }
        let reply = try client.run(.phpSave, keys: [key(id), lockKey(id)], arguments: [
            Array(mode.utf8), data, Array(String(lifetime).utf8), Array((token ?? "").utf8),
        ])
        switch reply.text {
        case "applied": return .applied(revision: nil)
        case "exists": return .exists
        case "gone": return .gone
        case "lost": throw SessionError.backendFailed("session \(id.tag): its lock lapsed after \(lockExpiry) s, before the save; not saved")
        default: throw SessionError.backendFailed("redis: the save script answered \(reply)")
        }
    }
}

extension PHPRedisBackend: SessionHolding {
    /// Takes phpredis's lock on session `id` and reads it, in one round trip, retrying with
    /// jittered back-off while a PHP or Swift request holds it, up to ``lockTimeout``. Nil when
    /// no session is stored.
    public func hold(_ id: SessionID) throws -> PHPRedisHold? {
        guard let (token, reply) = try client.takeLock(.phpHold, keys: [key(id), lockKey(id)], expiry: lockExpiry,
                                                       timeout: lockTimeout) else { return nil }
        let hold = PHPRedisHold(backend: self, id: id, token: token, entries: [], modified: clock.now)
        guard case .array(let parts) = reply, parts.count == 2, case .string(let data) = parts[0], case .integer(let left) = parts[1] else {
            hold.release()
            throw SessionError.backendFailed("redis: the hold script answered \(reply)")
        }
        do {
            hold.entries = try format.decode(data)
        } catch {
            hold.release()
            throw SessionError.unreadable("session \(id.tag): \(error)")
        }
        // phpredis keeps no times: the last use is when the TTL was last set.
        if left > 0 { hold.modified = clock.now - max(0, lifetime - Int((left + 999) / 1000)) }
        return hold
    }
}

/// A request's hold on one phpredis session: the session's entries as read under phpredis's
/// lock, and the lock's token.
///
/// ```swift
/// let hold = try backend.hold(id)
/// let stored = try hold?.load()
/// hold?.release()
/// ```
public final class PHPRedisHold: SessionHold {
    private let backend: PHPRedisBackend
    private let id: SessionID
    private var token: String?
    fileprivate(set) var entries: [PHPSessionFormat.Entry]
    fileprivate(set) var modified: Int

    fileprivate init(backend: PHPRedisBackend, id: SessionID, token: String?, entries: [PHPSessionFormat.Entry], modified: Int) {
        self.backend = backend
        self.id = id
        self.token = token
        self.entries = entries
        self.modified = modified
    }

    /// The values a Swift page can hold faithfully (see ``PHPSessionFormat/Entry``).
    public func load() throws -> StoredSession? {
        StoredSession(values: PHPSessionFormat.sessionValues(of: entries), createdAt: modified, modifiedAt: modified)
    }

    /// Writes the entries with the request's changes, the rest byte for byte.
    public func apply(_ changes: SessionChanges) throws -> SessionChanges.Outcome {
        let updated = backend.format.applying(changes, to: entries)
        let outcome = try backend.write(updated, kind: changes.kind, to: id, token: token)
        if case .applied = outcome { entries = updated }
        return outcome
    }

    /// Releases phpredis's lock if it is still this request's.
    public func release() {
        guard let token = token.take() else { return }
        backend.client.releaseLock(backend.lockKey(id), token: token, of: id, expiry: backend.lockExpiry)
    }
}
