import Foundation
@testable import Obsession
import TestSupport
import Testing

/// Requests of one session overlapping: merge at save, deletes and cycles that stand, the
/// exclusive lock and its timeout. A request is run inside another's handler to make the overlap
/// happen at a known point.
@Suite struct ConcurrentSessionTests: @unchecked Sendable {
    let directory: TemporaryDirectory
    let clock = TestClock()

    init() throws { directory = try TemporaryDirectory() }

    func backend(_ locking: FileBackend.Locking = .merge) -> FileBackend {
        FileBackend(directory: directory.file("sessions"), locking: locking, clock: clock)
    }

    func stored(_ backend: FileBackend, _ cookie: String) throws -> SessionValue? {
        guard let id = SessionID(validating: String(cookie.dropFirst(5))), let stored = try backend.load(id) else { return nil }
        return .object(stored.values)
    }

    func newSession(_ backend: FileBackend, _ values: [String: SessionValue] = ["n": 0]) throws -> String {
        let id = SessionID.random()
        try backend.put(values, as: id, at: clock.now)
        return "_obs=\(id.text)"
    }

    @Test func overlappingRequestsChangingDifferentKeysBothWin() throws {
        let backend = backend()
        let cookie = try newSession(backend)
        let response = exchange(SessionMiddleware(backend: backend, clock: clock) { request, _ in
            let session = try request.session()
            _ = exchange(SessionMiddleware(backend: backend, clock: clock) { inner, _ in
                try inner.session()["b"] = "from the other request"
            }, cookie: cookie)
            session["a"] = "from this request"
        }, cookie: cookie)
        #expect(response.status == 200)
        #expect(try stored(backend, cookie) == ["n": 0, "a": "from this request", "b": "from the other request"])
    }

    /// A save remembers what it stored: the next save of the same request still merges what
    /// another request saved in between.
    @Test func secondSaveOfARequestMergesWhatAnotherSavedBetween() throws {
        let backend = backend()
        let cookie = try newSession(backend)
        _ = exchange(SessionMiddleware(backend: backend, clock: clock) { request, _ in
            let session = try request.session()
            session["a"] = 1
            try session.save()
            _ = exchange(SessionMiddleware(backend: backend, clock: clock) { inner, _ in
                try inner.session()["b"] = 2
            }, cookie: cookie)
            session["c"] = 3
        }, cookie: cookie)
        #expect(try stored(backend, cookie) == ["n": 0, "a": 1, "b": 2, "c": 3])
    }

    @Test func largeSessionReplacedUnderARequestStillMerges() throws {
        let backend = backend()
        let big = String(repeating: "x", count: 3 * FileBackend.inPlaceLimit)
        let cookie = try newSession(backend, ["n": 0])
        _ = exchange(SessionMiddleware(backend: backend, clock: clock) { request, _ in
            let session = try request.session()
            _ = exchange(SessionMiddleware(backend: backend, clock: clock) { inner, _ in
                try inner.session()["big"] = .string(big)
            }, cookie: cookie)
            session["a"] = 1
        }, cookie: cookie)
        #expect(try stored(backend, cookie) == ["n": 0, "a": 1, "big": .string(big)])
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.file("sessions"))
        #expect(names == ["s_" + cookie.dropFirst(5)], "no temporary file left: \(names)")
    }

    @Test func removedKeyStaysRemovedAndOthersChangesStay() throws {
        let backend = backend()
        let cookie = try newSession(backend, ["cart": [1], "n": 0])
        _ = exchange(SessionMiddleware(backend: backend, clock: clock) { request, _ in
            let session = try request.session()
            _ = exchange(SessionMiddleware(backend: backend, clock: clock) { inner, _ in
                try inner.session()["n"] = 5
            }, cookie: cookie)
            session.removeValue(forKey: "cart")
        }, cookie: cookie)
        #expect(try stored(backend, cookie) == ["n": 5])
    }

    @Test func logoutIsNotUndoneByASlowerRequest() throws {
        let backend = backend()
        let cookie = try newSession(backend, ["user": "ann"])
        let slow = exchange(SessionMiddleware(backend: backend, clock: clock) { request, _ in
            let session = try request.session()
            _ = exchange(SessionMiddleware(backend: backend, clock: clock) { inner, _ in
                try inner.session().delete()
            }, cookie: cookie)
            session["cart"] = [1, 2]
        }, cookie: cookie)
        #expect(slow.status == 200)
        #expect(try stored(backend, cookie) == nil)
        #expect(try backend.storedIDs().isEmpty)
    }

    @Test func cycledIdStaysGoneWhenASlowerRequestSaves() throws {
        let backend = backend()
        let cookie = try newSession(backend, ["user": "ann"])
        nonisolated(unsafe) var newCookie: String?
        _ = exchange(SessionMiddleware(backend: backend, clock: clock) { request, _ in
            let session = try request.session()
            let login = exchange(SessionMiddleware(backend: backend, cycleGracePeriod: 0, clock: clock) { inner, _ in
                try inner.session().cycle()
            }, cookie: cookie)
            newCookie = login.sessionCookie().map { "_obs=\($0)" }
            session["late"] = true
        }, cookie: cookie)
        #expect(try stored(backend, cookie) == nil)
        #expect(try stored(backend, try #require(newCookie)) == ["user": "ann"])
        #expect(try backend.storedIDs().count == 1)
    }

    @Test func exclusiveLockSerialisesReadModifyWriteAcrossThreads() throws {
        let backend = backend(.exclusive(timeout: 10))
        let cookie = try newSession(backend)
        let middleware = SessionMiddleware(backend: backend, clock: clock) { request, response in
            let session = try request.session()
            session["n"] = .int((session["n"]?.intValue ?? 0) + 1)
        }
        DispatchQueue.concurrentPerform(iterations: 4) { _ in
            for _ in 0..<50 { _ = exchange(middleware, cookie: cookie) }
        }
        #expect(try stored(backend, cookie)?["n"] == 200)
    }

    @Test func lockHeldTooLongGives503AndWritesNothing() throws {
        let backend = backend(.exclusive(timeout: 0.2))
        let cookie = try newSession(backend, ["n": 1])
        let id = SessionID(validating: String(cookie.dropFirst(5)))!
        let holder = try #require(try backend.hold(id))
        defer { holder.release() }
        let started = Date()
        let response = exchange(SessionMiddleware(backend: backend, clock: clock) { request, _ in
            try request.session()["n"] = 2
        }, cookie: cookie)
        #expect(response.status == 503)
        #expect(Date().timeIntervalSince(started) >= 0.2)
        #expect(response.errorLog.first?.contains("another request held the session for more than 0.2 s") == true)
        #expect(try stored(backend, cookie) == ["n": 1])
    }

    @Test func unknownIdMakesNoLockFile() throws {
        let backend = backend(.exclusive(timeout: 1))
        _ = exchange(SessionMiddleware(backend: backend, clock: clock) { request, _ in
            _ = try request.session()["x"]
        }, cookie: "_obs=" + SessionID.random().text)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.file("sessions"))) ?? []
        #expect(names.isEmpty)
    }
}
