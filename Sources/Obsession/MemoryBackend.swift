import Synchronization

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
                entries[id] = nil
            }
        }
    }

    /// The most sessions kept.
    public let size: Int
    private let clock: any SessionClock
    private let state = Mutex(State())

    /// Makes an empty backend that keeps at most `size` sessions.
    ///
    /// ```swift
    /// let backend = MemoryBackend(size: 1000)
    /// ```
    public init(size: Int = 1000, clock: any SessionClock = SystemClock()) {
        self.size = max(size, 1)
        self.clock = clock
    }

    public func load(_ id: SessionID) throws -> StoredSession? {
        state.withLock { state in
            guard var entry = state.entries[id] else { return nil }
            entry.lastUse = state.use()
            state.entries[id] = entry
            return entry.stored
        }
    }

    public func save(_ id: SessionID, data: [UInt8]) throws {
        let now = clock.now
        state.withLock { state in
            let created = state.entries[id]?.stored.createdAt ?? now
            state.entries[id] = Entry(stored: StoredSession(data: data, createdAt: created, modifiedAt: now), lastUse: state.use())
            state.evict(beyond: size)
        }
    }

    public func update(_ id: SessionID, _ merge: (StoredSession?) throws -> [UInt8]?) throws {
        let now = clock.now
        try state.withLock { state in
            guard let data = try merge(state.entries[id]?.stored) else { return }
            let created = state.entries[id]?.stored.createdAt ?? now
            state.entries[id] = Entry(stored: StoredSession(data: data, createdAt: created, modifiedAt: now), lastUse: state.use())
            state.evict(beyond: size)
        }
    }

    public func delete(_ id: SessionID) throws {
        state.withLock { $0.entries[id] = nil }
    }

    public func touch(_ id: SessionID) throws {
        let now = clock.now
        state.withLock { state in
            guard var entry = state.entries[id] else { return }
            entry.stored.modifiedAt = now
            entry.lastUse = state.use()
            state.entries[id] = entry
        }
    }

    public func keys() throws -> [SessionID] {
        state.withLock { Array($0.entries.keys) }
    }

    /// Removes up to `limit` sessions last saved or touched before `time`, without counting the
    /// look as a use: eviction keeps following the requests' own use.
    public func collectGarbage(olderThan time: Int, limit: Int) throws -> Int {
        state.withLock { state in
            let stale = state.entries.filter { $0.value.stored.modifiedAt < time }.keys.prefix(limit)
            for id in stale { state.entries[id] = nil }
            return stale.count
        }
    }
}
