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
            state.entries[id] = Entry(stored: changes.result(over: stored), lastUse: state.use())
            state.evict(beyond: size)
            return .applied(revision: nil)
        }
    }

    public func delete(_ id: SessionID) throws {
        state.withLock { $0.entries[id] = nil }
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
            for id in stale { state.entries[id] = nil }
            return stale.count
        }
    }
}

extension MemoryBackend: SessionListing {
    public func forEachSession(_ body: (SessionID) throws -> Bool) throws {
        for id in state.withLock({ Array($0.entries.keys) }) where try !body(id) { return }
    }
}
