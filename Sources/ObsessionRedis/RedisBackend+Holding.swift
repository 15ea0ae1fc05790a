public import Obsession

extension RedisBackend: SessionHolding {
    /// Takes session `id`'s lock and reads the session, in one round trip, retrying with
    /// jittered back-off while another request holds it, up to the locking's timeout (then
    /// ``SessionError/lockTimeout(seconds:)``: 503, nothing written). Nil for an id with no
    /// session stored: no lock is made for an id nobody issued.
    public func hold(_ id: SessionID) throws -> RedisHold? {
        guard case .exclusive(let timeout) = locking else {
            return try load(id).map { RedisHold(backend: self, id: id, token: nil, stored: $0) }
        }
        guard let (token, reply) = try client.takeLock(.hold, keys: [key(id), lockKey(id)], expiry: lockExpiry, timeout: timeout) else {
            return nil
        }
        let hold = RedisHold(backend: self, id: id, token: token, stored: nil)
        do {
            hold.stored = try RedisSessionHash.decode(reply, id: id)
        } catch {
            hold.release()
            throw error
        }
        return hold
    }
}

/// A request's hold on one session of a ``RedisBackend``: the session read when the lock was
/// taken, and the lock's token, which the save and the release check.
///
/// ```swift
/// let hold = try backend.hold(id)
/// let stored = try hold?.load()
/// hold?.release()
/// ```
public final class RedisHold: SessionHold {
    private let backend: RedisBackend
    private let id: SessionID
    private var token: String?
    /// The session as the lock found it, handed out by the first load.
    fileprivate var stored: StoredSession?

    fileprivate init(backend: RedisBackend, id: SessionID, token: String?, stored: StoredSession?) {
        self.backend = backend
        self.id = id
        self.token = token
        self.stored = stored
    }

    /// The session as read with the lock; after that, from the store again.
    public func load() throws -> StoredSession? {
        guard let stored = stored.take() else { return try backend.load(id) }
        return stored
    }

    /// Saves `changes`, while the lock is still this request's.
    public func apply(_ changes: SessionChanges) throws -> SessionChanges.Outcome {
        try backend.apply(changes, to: id, token: token)
    }

    /// Releases the lock. A release that cannot reach Redis leaves the lock to lapse after
    /// ``RedisBackend/lockExpiry``, and says so in the log.
    public func release() {
        guard let token = token.take() else { return }
        backend.client.releaseLock(backend.lockKey(id), token: token, of: id, expiry: backend.lockExpiry)
    }
}
