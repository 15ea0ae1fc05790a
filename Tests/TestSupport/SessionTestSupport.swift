import FastCGI
import Obsession

/// A clock the test sets.
package final class TestClock: SessionClock, @unchecked Sendable {
    private let time: Locked<Int>
    package init(_ now: Int = 1_700_000_000) { time = Locked(now) }
    package var now: Int { time.withLock { $0 } }
    package func advance(_ seconds: Int) { time.withLock { $0 += seconds } }
}

/// A backend that counts what is asked of it and can be told to fail, around a real one.
package final class RecordingBackend: SessionBackend, @unchecked Sendable {
    package let inner: any SessionBackend
    private let state = Locked<(calls: [String], failing: Bool)>(([], false))

    package init(_ inner: any SessionBackend) { self.inner = inner }

    package var calls: [String] { state.withLock { $0.calls } }
    package func failWrites(_ failing: Bool) { state.withLock { $0.failing = failing } }

    private func record(_ call: String, write: Bool = false) throws {
        let failing = state.withLock { state in
            state.calls.append(call)
            return state.failing
        }
        if write, failing { throw SessionError.backendFailed("no space left on device (simulated)") }
    }

    package func load(_ id: SessionID) throws -> StoredSession? { try record("load"); return try inner.load(id) }
    package func apply(_ changes: SessionChanges, to id: SessionID) throws -> SessionChanges.Outcome {
        try record("apply", write: true)
        return try inner.apply(changes, to: id)
    }
    package func delete(_ id: SessionID) throws { try record("delete", write: true); try inner.delete(id) }
    package func touch(_ id: SessionID, at time: Int) throws { try record("touch", write: true); try inner.touch(id, at: time) }
}

extension SessionBackend {
    /// Stores `values` under `id` as a new session made at `time`, or in place of what is stored
    /// there: how a test puts a session in a store.
    package func put(_ values: [String: SessionValue], as id: SessionID, at time: Int = 1_700_000_000) throws {
        let creation = SessionChanges(kind: .create(createdAt: time), set: values, removed: [], whole: values, time: time)
        guard try apply(creation, to: id) == .exists else { return }
        let stored = try load(id)?.values ?? [:]
        let replacement = SessionChanges(kind: .update(basedOn: nil), set: values,
                                         removed: Set(stored.keys).subtracting(values.keys), whole: values, time: time)
        _ = try apply(replacement, to: id)
    }

    /// Every stored id, through the store's listing.
    package func storedIDs() throws -> [SessionID] {
        var ids: [SessionID] = []
        try listing?.forEachSession { ids.append($0); return true }
        return ids
    }
}

/// Runs `handler` inside a SessionMiddleware for one in-memory request.
package func exchange(_ middleware: SessionMiddleware<ClosureResponder>, method: String = "GET", path: String = "/",
              query: String = "", cookie: String? = nil, address: String = "192.0.2.1",
              browser: String = "TestBrowser/1") -> InMemoryResponse {
    var parameters = ["REQUEST_METHOD": method, "PATH_INFO": path, "REQUEST_URI": path, "QUERY_STRING": query,
                      "REMOTE_ADDR": address, "HTTP_USER_AGENT": browser]
    if let cookie { parameters["HTTP_COOKIE"] = cookie }
    return FastCGIServer.respond(to: CGIParameters(parameters), with: middleware)
}

extension InMemoryResponse {
    /// The value of the session cookie this response sets, if it sets one.
    package func sessionCookie(named name: String = "_obs") -> String? {
        headers.values(for: "Set-Cookie").first { $0.hasPrefix(name + "=") }
            .map { String($0.dropFirst(name.count + 1).prefix { $0 != ";" }) }
    }
}
