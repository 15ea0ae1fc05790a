import Obsession
import Synchronization

/// A clock the test sets.
final class TestClock: SessionClock, @unchecked Sendable {
    private let time: Mutex<Int>
    init(_ now: Int = 1_700_000_000) { time = Mutex(now) }
    var now: Int { time.withLock { $0 } }
    func advance(_ seconds: Int) { time.withLock { $0 += seconds } }
}

/// A backend that counts what is asked of it and can be told to fail, around a real one.
final class RecordingBackend: SessionBackend, @unchecked Sendable {
    let inner: any SessionBackend
    private let state = Mutex<(calls: [String], failing: Bool)>(([], false))

    init(_ inner: any SessionBackend) { self.inner = inner }

    var calls: [String] { state.withLock { $0.calls } }
    func failWrites(_ failing: Bool) { state.withLock { $0.failing = failing } }

    private func record(_ call: String, write: Bool = false) throws {
        let failing = state.withLock { state in
            state.calls.append(call)
            return state.failing
        }
        if write, failing { throw SessionError.backendFailed("no space left on device (simulated)") }
    }

    func load(_ id: SessionID) throws -> StoredSession? { try record("load"); return try inner.load(id) }
    func save(_ id: SessionID, data: [UInt8]) throws { try record("save", write: true); try inner.save(id, data: data) }
    func delete(_ id: SessionID) throws { try record("delete", write: true); try inner.delete(id) }
    func touch(_ id: SessionID) throws { try record("touch", write: true); try inner.touch(id) }
    func keys() throws -> [SessionID] { try record("keys"); return try inner.keys() }
}

/// Runs `handler` inside a SessionMiddleware for one in-memory request.
func exchange(_ middleware: SessionMiddleware<ClosureResponder>, method: String = "GET", path: String = "/",
              cookie: String? = nil) -> InMemoryResponse {
    var parameters = ["REQUEST_METHOD": method, "PATH_INFO": path, "REQUEST_URI": path]
    if let cookie { parameters["HTTP_COOKIE"] = cookie }
    return FastCGIServer.respond(to: CGIParameters(parameters), with: middleware)
}

extension InMemoryResponse {
    /// The value of the session cookie this response sets, if it sets one.
    func sessionCookie(named name: String = "_obs") -> String? {
        headers.values(for: "Set-Cookie").first { $0.hasPrefix(name + "=") }
            .map { String($0.dropFirst(name.count + 1).prefix { $0 != ";" }) }
    }
}
