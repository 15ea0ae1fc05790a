@testable import Obsession
import TestSupport
import Testing

/// The seed's behaviours and this rules, through SessionMiddleware and the server's own
/// request cycle in memory.
@Suite struct SessionTests {
    let clock = TestClock()
    let backend: RecordingBackend

    init() {
        backend = RecordingBackend(MemoryBackend(size: 100))
    }

    func middleware(_ persister: CookieIdPersistence = CookieIdPersistence(), idleTimeout: Int? = nil,
                    absoluteTimeout: Int? = nil, _ handler: @escaping @Sendable (Request, Response) throws -> Void)
        -> SessionMiddleware<ClosureResponder> {
        SessionMiddleware(idPersister: persister, backend: backend, idleTimeout: idleTimeout,
                          absoluteTimeout: absoluteTimeout, clock: clock, handler)
    }

    /// Makes a stored session holding `data`, and returns its cookie header.
    func existingSession(_ values: [String: SessionValue] = ["user": "ann"]) throws -> (SessionID, String) {
        let id = SessionID.random()
        try backend.inner.put(values, as: id, at: clock.now)
        return (id, "_obs=\(id.text)")
    }

    @Test func requestThatNeverAsksDoesNoBackendWorkAndSetsNoCookie() throws {
        let (_, cookie) = try existingSession()
        let response = exchange(middleware { _, response in try response.write("hi") }, cookie: cookie)
        #expect(response.text == "hi")
        #expect(backend.calls.isEmpty)
        #expect(response.headers.values(for: "Set-Cookie").isEmpty)
    }

    @Test func readingWithoutChangingSavesNothingAndSetsNoCookie() throws {
        let response = exchange(middleware { request, _ in _ = try request.session()["x"] })
        #expect(backend.calls.isEmpty, "no id from the client: nothing to load")
        #expect(response.sessionCookie() == nil)
    }

    @Test func changedSessionIsSavedAtTheEndWithACookie() throws {
        let response = exchange(middleware { request, _ in try request.session()["foo"] = "bar" })
        let id = try #require(response.sessionCookie().flatMap(SessionID.init(validating:)))
        #expect(try #require(try backend.inner.load(id)).values == ["foo": "bar"])
        #expect(response.header("Cache-Control") == "no-store")
        #expect(response.header("Vary") == "Cookie")
    }

    @Test func emptySessionIsNotSaved() {
        let response = exchange(middleware { request, _ in
            let session = try request.session()
            session["a"] = 1
            session["a"] = nil
        })
        #expect(response.sessionCookie() == nil)
        #expect(!backend.calls.contains("apply"))
    }

    @Test func existingSessionIsReadAndNestedChangesAreSaved() throws {
        let (id, cookie) = try existingSession(["bar": [1, 2, 3]])
        let response = exchange(middleware { request, _ in
            let session = try request.session()
            session["bar"]?.append(4)
        }, cookie: cookie)
        #expect(response.sessionCookie() == nil, "the client already has this id")
        #expect(try #require(try backend.inner.load(id)).values == ["bar": [1, 2, 3, 4]])
    }

    @Test func unknownWellFormedIdGetsAFreshSessionUnderANewId() throws {
        let attacker = SessionID.random()
        let response = exchange(middleware { request, _ in try request.session()["user"] = "victim" },
                                cookie: "_obs=\(attacker.text)")
        let issued = try #require(response.sessionCookie())
        #expect(issued != attacker.text)
        #expect(try backend.inner.load(attacker) == nil)
    }

    @Test func malformedIdNeverReachesTheBackend() {
        let response = exchange(middleware { request, _ in _ = try request.session()["user"] },
                                cookie: "_obs=../../../../etc/passwd; _obs=short")
        #expect(response.status == 200)
        #expect(!backend.calls.contains("load"))
    }

    @Test func firstWellFormedIdAmongRepeatedCookiesIsUsed() throws {
        let (_, cookie) = try existingSession(["user": "ann"])
        let response = exchange(middleware { request, response in
            try response.write(try request.session()["user"]?.stringValue ?? "none")
        }, cookie: "_obs=bogus; \(cookie)")
        #expect(response.text == "ann")
    }

    @Test func cycleKeepsTheDataUnderANewIdAndLeavesTheOldOnlyAForward() throws {
        let (old, cookie) = try existingSession(["cart": [1]])
        let response = exchange(middleware { request, _ in
            let session = try request.session()
            try session.cycle()
            session["user"] = "ann"
        }, cookie: cookie)
        let new = try #require(response.sessionCookie().flatMap(SessionID.init(validating:)))
        #expect(new != old)
        // The old id keeps only its forward to the new, for the grace period.
        let forward = try #require(try backend.inner.load(old).flatMap { SessionForward($0.values, format: .obsession) })
        #expect(forward.successor == new)
        #expect(try backend.inner.load(old)?.values.count == 1)
        #expect(try #require(try backend.inner.load(new)).values == ["cart": [1], "user": "ann"])
    }

    @Test func deleteRemovesTheDataAndExpiresTheCookie() throws {
        let (id, cookie) = try existingSession()
        let response = exchange(middleware { request, _ in try request.session().delete() }, cookie: cookie)
        #expect(try backend.inner.load(id) == nil)
        let setCookie = try #require(response.header("Set-Cookie"))
        #expect(setCookie.hasPrefix("_obs=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/"))
    }

    @Test func loadSwitchesToAKnownIdAndRefusesAnUnknownOne() throws {
        let (known, _) = try existingSession(["user": "bob"])
        let response = exchange(middleware { request, response in
            let session = try request.session()
            #expect(throws: SessionError.unknownId) { try session.load(id: SessionID.random()) }
            try session.load(id: known)
            try response.write(session["user"]?.stringValue ?? "none")
        })
        #expect(response.text == "bob")
        #expect(response.sessionCookie() == known.text)
    }

    @Test(arguments: ["idle", "absolute"])
    func loadRefusesAnExpiredSessionAndDoesNotRevive(limit: String) throws {
        let (expired, _) = try existingSession(["user": "bob"])
        clock.advance(limit == "idle" ? 1441 : 100)
        let response = exchange(middleware(absoluteTimeout: 50) { request, response in
            let session = try request.session()
            #expect(throws: SessionError.unknownId) { try session.load(id: expired) }
            session["x"] = 1
        })
        #expect(response.sessionCookie() != expired.text)
        #expect(try backend.inner.load(expired) == nil, "an expired session is removed, not revived")
    }

    @Test func valueNestedDeeperThanTheReaderTakesIsRefusedAndTheOldSessionKept() throws {
        let (id, cookie) = try existingSession(["user": "ann"])
        var deep: SessionValue = 1
        for _ in 0..<JSON.maxDepth { deep = [deep] }
        let tooDeep = deep
        let response = exchange(middleware { request, _ in try request.session()["deep"] = tooDeep }, cookie: cookie)
        #expect(response.status == 500)
        #expect(response.errorLog.first?.contains("the value under \"deep\" nests deeper than \(JSON.maxDepth) levels") == true)
        #expect(try #require(try backend.inner.load(id)).values == ["user": "ann"])
        let session = Session(backend: backend, settings: .init(cookie: .init(), idFormat: .obsession, idleTimeout: 60, absoluteTimeout: nil, clock: clock))
        #expect(throws: SessionError.self) { try session.set(deep, forKey: "deep") }
        session["shallow"] = [[1]]
        #expect(session["deep"] == nil)
    }

    @Test func valueNestedThousandsDeepIsRefusedWithoutExhaustingTheStack() throws {
        var deep: SessionValue = 1
        for _ in 0..<2_000 { deep = [deep] }
        #expect(throws: JSON.DepthError.self) { try JSON.encode(deep) }
        let text = Array(String(repeating: "[", count: 50_000).utf8)
        #expect(throws: JSON.SyntaxError.self) { try JSON.decode(text) }
    }

    @Test func cookieCarriesEveryAttribute() {
        let persister = CookieIdPersistence(cookieName: "mysession", maxAge: 86400, path: "/my-site",
                                            domain: "mysite.example.org", secure: true, sameSite: .strict)
        let response = exchange(middleware(persister) { request, _ in try request.session()["a"] = 1 })
        let header = response.header("Set-Cookie") ?? ""
        #expect(header.hasPrefix("mysession="))
        #expect(header.hasSuffix("; Max-Age=86400; Path=/my-site; Domain=mysite.example.org; Secure; HttpOnly; SameSite=Strict"))
    }

    @Test func handlersOwnCacheControlIsKept() {
        let response = exchange(middleware { request, response in
            try response.setHeader("Cache-Control", "private, max-age=0")
            try request.session()["a"] = 1
        })
        #expect(response.header("Cache-Control") == "private, max-age=0")
        #expect(response.header("Vary") == "Cookie")
    }

    @Test func rollingRefreshResendsTheCookieAndTouchesWithoutRewriting() throws {
        let persister = CookieIdPersistence(maxAge: 800)
        let (id, cookie) = try existingSession()
        clock.advance(99)
        let early = exchange(middleware(persister) { request, _ in _ = try request.session()["user"] }, cookie: cookie)
        #expect(early.sessionCookie() == nil, "within maxAge/8: no refresh")
        clock.advance(2)
        let late = exchange(middleware(persister) { request, _ in _ = try request.session()["user"] }, cookie: cookie)
        #expect(late.sessionCookie() == id.text)
        #expect(backend.calls.filter { $0 == "apply" }.isEmpty)
        #expect(backend.calls.contains("touch"))
        #expect(try backend.inner.load(id)?.modifiedAt == clock.now)
    }

    @Test func idleSessionExpiresOnTheServer() throws {
        let (id, cookie) = try existingSession()
        clock.advance(601)
        let response = exchange(middleware(idleTimeout: 600) { request, response in
            try response.write(try request.session()["user"]?.stringValue ?? "none")
        }, cookie: cookie)
        #expect(response.text == "none")
        #expect(try backend.inner.load(id) == nil)
        #expect(response.errorLog.first?.contains("expired after 601 s idle") == true)
    }

    @Test func idleTimeoutDefaultsToTheCookiesMaxAgeElse24Minutes() throws {
        let (_, cookie) = try existingSession()
        clock.advance(1441)
        let response = exchange(middleware { request, response in
            try response.write(try request.session()["user"]?.stringValue ?? "none")
        }, cookie: cookie)
        #expect(response.text == "none")
    }

    @Test func absoluteLifetimeExpiresAnActiveSession() throws {
        let (_, cookie) = try existingSession()
        for _ in 0..<5 {
            clock.advance(500)
            try backend.inner.touch(SessionID(validating: String(cookie.dropFirst(5)))!, at: clock.now)
        }
        let response = exchange(middleware(idleTimeout: 600, absoluteTimeout: 2000) { request, response in
            try response.write(try request.session()["user"]?.stringValue ?? "none")
        }, cookie: cookie)
        #expect(response.text == "none")
    }

    @Test func flashIsShownOnce() {
        let first = exchange(middleware { request, _ in try request.session().flash("saved") })
        let cookie = "_obs=\(first.sessionCookie() ?? "")"
        let handler: @Sendable (Request, Response) throws -> Void = { request, response in
            try response.write(try request.session().takeFlashes().joined(separator: ","))
        }
        #expect(exchange(middleware(CookieIdPersistence(), handler), cookie: cookie).text == "saved")
        #expect(exchange(middleware(CookieIdPersistence(), handler), cookie: cookie).text == "")
    }

    @Test func csrfTokenIsStableAndCheckedExactly() {
        let response = exchange(middleware { request, response in
            let session = try request.session()
            #expect(!session.isValidCSRFToken("anything"), "no token yet: nothing is valid")
            let token = session.csrfToken
            #expect(token.utf8.count == 40)
            #expect(session.csrfToken == token)
            #expect(session.isValidCSRFToken(token))
            #expect(!session.isValidCSRFToken(String(token.dropLast()) + (token.hasSuffix("x") ? "y" : "x")))
            #expect(!session.isValidCSRFToken(token + "x"))
            #expect(!session.isValidCSRFToken(""))
            #expect(!session.isValidCSRFToken(nil))
            try response.write("ok")
        })
        #expect(response.text == "ok")
    }

    @Test func failingBackendGives500WithTheCauseLoggedAndKeepsTheOldData() throws {
        let (id, cookie) = try existingSession(["n": 1])
        backend.failWrites(true)
        let response = exchange(middleware { request, response in
            try request.session()["n"] = 2
            try response.write("changed")
        }, cookie: cookie)
        #expect(response.status == 500)
        #expect(response.text == "Internal Server Error\n")
        #expect(response.errorLog == ["GET /: session backend failed: no space left on device (simulated)"])
        #expect(try #require(try backend.inner.load(id)).values == ["n": 1])
    }

    @Test func handlerThatThrowsSavesNothing() throws {
        struct Boom: Error {}
        let (id, cookie) = try existingSession(["n": 1])
        let response = exchange(middleware { request, _ in
            try request.session()["n"] = 2
            throw Boom()
        }, cookie: cookie)
        #expect(response.status == 500)
        #expect(try #require(try backend.inner.load(id)).values == ["n": 1])
    }

    @Test func sessionStartedBeforeTheBodyIsSavedWhenTheHeadersLeave() throws {
        let response = exchange(middleware { request, response in
            try request.session()["early"] = true
            try response.write("streamed")
            try request.session()["late"] = true
        })
        let id = try #require(response.sessionCookie().flatMap(SessionID.init(validating:)))
        #expect(try #require(try backend.inner.load(id)).values == ["early": true, "late": true])
    }

    @Test func sessionWithoutMiddlewareIsAProgrammersErrorThatSaysSo() async {
        // Not a 500 that blames the store: the program stops, naming what is missing.
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = FastCGIServer.respond(to: ["REQUEST_METHOD": "GET"], with: ClosureResponder { request, _ in
                _ = try request.session()
            })
        }
        let message = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(message.contains("request.session() needs a SessionMiddleware around the handler"))
    }

    @Test func memoryBackendDropsTheLeastRecentlyUsed() throws {
        let memory = MemoryBackend(size: 3)
        let ids = (0..<4).map { _ in SessionID.random() }
        for id in ids.prefix(3) { try memory.put(["n": 1], as: id) }
        _ = try memory.load(ids[0])
        try memory.put(["n": 1], as: ids[3])
        #expect(try memory.load(ids[1]) == nil)
        #expect(try memory.load(ids[0]) != nil)
        #expect(try Set(memory.storedIDs()) == [ids[0], ids[2], ids[3]])
    }

    @Test func aFullMemoryBackendDropsItsLeastRecentlyUsedSixteenth() throws {
        let memory = MemoryBackend(size: 64)
        let ids = (0..<64).map { _ in SessionID.random() }
        for id in ids { try memory.put(["n": 1], as: id) }
        for id in ids.prefix(8) { _ = try memory.load(id) }
        let newcomer = SessionID.random()
        try memory.put(["n": 1], as: newcomer)
        // 65 sessions for 64 places: the 1 over, and 4 more (64 / 16), the least recently used.
        #expect(try Set(memory.storedIDs()) == Set(ids.prefix(8) + ids.dropFirst(13) + [newcomer]))
    }

    @Test func memoryBackendsGarbageCollectionLeavesTheOrderOfUseAlone() throws {
        let memory = MemoryBackend(size: 32)
        let ids = (0..<32).map { _ in SessionID.random() }
        for id in ids { try memory.put(["n": 1], as: id, at: clock.now) }
        for id in ids.dropFirst(4) { _ = try memory.load(id) }
        #expect(try memory.collectGarbage(olderThan: clock.now - 10, limit: 100) == 0)
        let newcomer = SessionID.random()
        try memory.put(["n": 1], as: newcomer, at: clock.now)
        // 33 for 32 places: the 1 over and 2 more (32 / 16), the three least recently used.
        #expect(try Set(memory.storedIDs()) == Set(ids.dropFirst(3) + [newcomer]))
    }

    @Test func newSessionWhoseIdIsTakenIsStoredUnderAnotherAndLeavesTheOtherAlone() throws {
        /// Stores a session under the id a new session is about to use, as a racing request would.
        final class RacingBackend: SessionBackend, @unchecked Sendable {
            let inner = MemoryBackend(size: 10)
            func load(_ id: SessionID) throws -> StoredSession? { try inner.load(id) }
            func apply(_ changes: SessionChanges, to id: SessionID) throws -> SessionChanges.Outcome {
                if case .create = changes.kind, try inner.storedIDs().isEmpty { try inner.put(["theirs": 1], as: id) }
                return try inner.apply(changes, to: id)
            }
            func delete(_ id: SessionID) throws { try inner.delete(id) }
            func touch(_ id: SessionID, at time: Int) throws { try inner.touch(id, at: time) }
        }
        let racing = RacingBackend()
        let response = exchange(SessionMiddleware(backend: racing, clock: clock) { request, _ in
            try request.session()["ours"] = 2
        })
        let id = try #require(response.sessionCookie().flatMap(SessionID.init(validating:)))
        #expect(try #require(try racing.load(id)).values == ["ours": 2])
        let theirs = try racing.inner.storedIDs().filter { $0 != id }
        #expect(try theirs.map { try racing.load($0)?.values } == [["theirs": 1]])
    }

    @Test func memoryCollectionRemovesTheOlderSessionsOnly() throws {
        let memory = MemoryBackend(size: 10)
        let old = SessionID.random()
        try memory.put(["n": 1], as: old, at: clock.now)
        clock.advance(100)
        let young = SessionID.random()
        try memory.put(["n": 1], as: young, at: clock.now)
        #expect(try memory.collectGarbage(olderThan: clock.now - 50, limit: 10) == 1)
        #expect(try memory.storedIDs() == [young])
    }
}
