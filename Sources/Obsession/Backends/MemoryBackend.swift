import FastCGI

/// Sessions kept in this process's memory, at most `size` of them: when full, the least
/// recently used sixteenth is dropped to make room. For tests and single-process servers: each
/// process has a store of its own (with `--processes 2`, a session saved by one process is
/// unknown to the other), and sessions are lost on restart.
///
/// ```swift
/// let app = SessionMiddleware(application, backend: MemoryBackend(size: 1000))
/// ```
public final class MemoryBackend: SessionBackend {
    private struct Entry {
        var stored: StoredSession
        var lastUse: UInt64
    }

    private struct State {
        var entries: [SessionID: Entry] = [:]
        /// Each user's sessions, kept with the entries under the same lock.
        var users: [String: Set<SessionID>] = [:]
        var tick: UInt64 = 0

        mutating func use() -> UInt64 {
            tick += 1
            return tick
        }

        /// Once there are more than `size` sessions, drops the least recently used sixteenth of
        /// them at once: one sort every `size / 16` new sessions, where dropping one at a time
        /// would scan every session for each new one.
        mutating func evict(beyond size: Int) {
            guard entries.count > size else { return }
            let count = entries.count - size + size / 16
            for (id, _) in entries.sorted(by: { $0.value.lastUse < $1.value.lastUse }).prefix(count) {
                remove(id)
            }
        }

        /// Removes session `id` and its place in its user's index.
        mutating func remove(_ id: SessionID) {
            guard let entry = entries.removeValue(forKey: id), let user = entry.stored.user else { return }
            unindex(id, of: user)
        }

        /// Stores `stored` under `id`, moving it in the index to the user it is logged in as.
        mutating func store(_ stored: StoredSession, under id: SessionID) {
            if let previous = entries[id]?.stored.user, previous != stored.user { unindex(id, of: previous) }
            if let user = stored.user { users[user, default: []].insert(id) }
            entries[id] = Entry(stored: stored, lastUse: use())
        }

        /// Takes `id` out of `user`'s sessions, and the user out of the index with the last.
        private mutating func unindex(_ id: SessionID, of user: String) {
            users[user]?.remove(id)
            if users[user]?.isEmpty == true { users[user] = nil }
        }
    }

    /// The most sessions kept.
    public let size: Int
    private let state = Locked(State())

    /// Makes an empty backend that keeps at most `size` sessions.
    ///
    /// ```swift
    /// let backend = MemoryBackend(size: 1000)
    /// ```
    public init(size: Int = 1000) {
        self.size = max(size, 1)
    }

    public func load(_ id: SessionID) throws -> StoredSession? {
        state.withLock { state in
            guard var entry = state.entries[id] else { return nil }
            entry.lastUse = state.use()
            state.entries[id] = entry
            return entry.stored
        }
    }

    /// Applies `changes` under the store's lock.
    public func apply(_ changes: SessionChanges, to id: SessionID) throws -> SessionChanges.Outcome {
        state.withLock { state in
            let stored = state.entries[id]?.stored
            if let refusal = changes.refusal(over: stored) { return refusal }
            state.store(changes.result(over: stored), under: id)
            state.evict(beyond: size)
            return .applied(revision: nil)
        }
    }

    /// The sessions held now.
    ///
    /// ```swift
    /// print(backend.sessionCount ?? 0)
    /// ```
    public var sessionCount: Int? { state.withLock { $0.entries.count } }

    public func delete(_ id: SessionID) throws {
        state.withLock { $0.remove(id) }
    }

    public func touch(_ id: SessionID, at time: Int) throws {
        state.withLock { state in
            guard var entry = state.entries[id] else { return }
            entry.stored.modifiedAt = time
            entry.lastUse = state.use()
            state.entries[id] = entry
        }
    }
}

extension MemoryBackend: SessionGarbageCollecting {
    /// Removes up to `limit` sessions last changed or touched before `time`, without counting
    /// the look as a use: eviction keeps following the requests' own use.
    public func collectGarbage(olderThan time: Int, limit: Int) throws -> Int {
        state.withLock { state in
            let stale = state.entries.filter { $0.value.stored.modifiedAt < time }.keys.prefix(limit)
            for id in stale { state.remove(id) }
            return stale.count
        }
    }
}

extension MemoryBackend: SessionListing {
    public func forEachSession(_ body: (SessionID) throws -> Bool) throws {
        for id in state.withLock({ Array($0.entries.keys) }) where try !body(id) { return }
    }
}

extension MemoryBackend: SessionUserIndexing {
    /// The sessions stored as `user`'s: exactly those, as the index changes with them.
    public func recordedSessions(ofUser user: String) throws -> [SessionID] {
        state.withLock { Array($0.users[user] ?? []) }
    }

    /// Nothing to do: the index never names a session that is not the user's.
    public func forget(_ id: SessionID, ofUser user: String) throws {}
}
