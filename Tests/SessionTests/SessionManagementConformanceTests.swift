import FastCGI
import Foundation
@testable import Obsession
import TestSupport
import Testing

/// Logging in and out, remember me and the grace period after a cycle, against every store of
/// ``BackendFixture/all``: through the middleware, as an application uses them.
@Suite(.requires(RedisProcess.executable)) struct SessionManagementConformanceTests {
    let directory: TemporaryDirectory
    let clock = TestClock()
    private let servers = Locked<[AnyObject]>([])

    init() throws { directory = try TemporaryDirectory() }

    func make(_ fixture: BackendFixture) throws -> any SessionBackend {
        let (backend, server) = try fixture.make(directory, clock, false)
        if let server { servers.withLock { $0.append(server) } }
        return backend
    }

    /// The application the tests drive: `/login?user=U[&remember]`, `/logout-others`,
    /// `/logout`, `/cycle`, and any other path answers the user (or "none") and the count of
    /// the user's sessions.
    func site(_ backend: any SessionBackend, idleTimeout: Int = 600, grace: Int = 30) -> SessionMiddleware<ClosureResponder> {
        SessionMiddleware(backend: backend, idleTimeout: idleTimeout, cycleGracePeriod: grace, rememberedLifetime: 86400,
                          clock: clock) { request, response in
            let session = try request.session()
            let query = request.queryString
            switch request.pathInfo {
            case "/login":
                let user = String(query.split(separator: "&")[0].dropFirst("user=".count))
                try session.logIn(user: user, remember: query.hasSuffix("&remember"),
                                  details: ["address": .string(request.remoteAddress ?? "")])
                session["cart"] = [1]
            case "/logout-others": try response.write("ended \(try session.logOutOtherSessions())")
            case "/logout": try session.delete()
            case "/cycle": try session.cycle()
            default: try response.write("\(session.user ?? "none") \(session["cart"]?.description ?? "-")")
            }
        }
    }

    func logIn(_ user: String, remember: Bool = false, to app: SessionMiddleware<ClosureResponder>, address: String = "192.0.2.1",
               cookie: String? = nil) throws -> String {
        let response = exchange(app, path: "/login", query: "user=\(user)" + (remember ? "&remember" : ""), cookie: cookie,
                                address: address)
        return try #require(response.sessionCookie(), "no cookie: \(response.errorLog)")
    }

    @Test(arguments: BackendFixture.all)
    func threeLoginsOfOneUserAreListedAndLogOutEverywhereElseEndsTheOthers(_ fixture: BackendFixture) throws {
        let backend = try make(fixture)
        let app = site(backend)
        guard backend.userIndex != nil || backend.listing != nil else {
            #expect(throws: SessionError.unsupported("this store can neither index nor list its sessions")) {
                try backend.sessions(ofUser: "ann")
            }
            return
        }
        let ann = try ["192.0.2.1", "192.0.2.2", "192.0.2.3"].map { try logIn("ann", to: app, address: $0) }
        let bob = try logIn("bob", to: app)
        let listed = try backend.sessions(ofUser: "ann")
        #expect(Set(listed.map(\.id.text)) == Set(ann))
        #expect(Set(listed.compactMap { $0.details["address"]?.stringValue }) == ["192.0.2.1", "192.0.2.2", "192.0.2.3"])
        #expect(listed.allSatisfy { $0.user == "ann" && $0.loggedInAt == clock.now && $0.lastSeen == clock.now && !$0.isRemembered })

        #expect(exchange(app, path: "/logout-others", cookie: "_obs=\(ann[0])").text == "ended 2")
        #expect(exchange(app, cookie: "_obs=\(ann[0])").text == "ann [1]")
        for cookie in ann.dropFirst() { #expect(exchange(app, cookie: "_obs=\(cookie)").text == "none -") }
        #expect(exchange(app, cookie: "_obs=\(bob)").text == "bob [1]")
        #expect(try backend.sessions(ofUser: "ann").map(\.id.text) == [ann[0]])
        #expect(try backend.logOut(user: "bob") == 1)
        #expect(try backend.sessions(ofUser: "bob").isEmpty)
    }

    @Test(arguments: BackendFixture.all.filter(\.followsTheClock))
    func aSessionLoggedInAsAnotherUserLeavesTheFirstUsersList(_ fixture: BackendFixture) throws {
        let backend = try make(fixture)
        guard backend.userIndex != nil || backend.listing != nil else { return }
        let app = site(backend)
        let first = try logIn("ann", to: app)
        let second = try logIn("bob", to: app, cookie: "_obs=\(first)")
        #expect(try backend.sessions(ofUser: "ann").isEmpty)
        #expect(try backend.sessions(ofUser: "bob").map(\.id.text) == [second])
        // A session gone by itself (expired) is dropped from the list on the way.
        clock.advance(601)
        #expect(exchange(app, cookie: "_obs=\(second)").text == "none -")
        #expect(try backend.sessions(ofUser: "bob").isEmpty)
    }

    @Test(arguments: BackendFixture.all.filter(\.followsTheClock))
    func aRememberedSessionOutlivesTheIdleTimeoutAndItsCookieTheBrowser(_ fixture: BackendFixture) throws {
        let backend = try make(fixture)
        let app = site(backend)
        let login = exchange(app, path: "/login", query: "user=ann&remember")
        let remembered = try #require(login.sessionCookie())
        #expect(login.headers.values(for: "Set-Cookie").first?.contains("Max-Age=86400") == true)
        let plain = try logIn("bob", to: app)
        clock.advance(12000)
        #expect(exchange(app, cookie: "_obs=\(plain)").text == "none -")
        if let collector = backend.garbageCollection {
            _ = try collector.collectGarbage(olderThan: clock.now - 600, limit: .max)
        }
        let later = exchange(app, cookie: "_obs=\(remembered)")
        #expect(later.text == "ann [1]")
        // More than an eighth of its lifetime gone: the session is touched, its cookie sent again.
        #expect(later.headers.values(for: "Set-Cookie").first?.contains("Max-Age=86400") == true)
        if backend.userIndex != nil || backend.listing != nil {
            let listed = try backend.sessions(ofUser: "ann")
            #expect(listed.map(\.isRemembered) == [true])
            #expect(listed.first?.lastSeen == clock.now)
        }
        clock.advance(86401)
        #expect(exchange(app, cookie: "_obs=\(remembered)").text == "none -")
    }

    @Test(arguments: BackendFixture.all)
    func anOldIdForwardsToTheNewSessionForTheGracePeriodOnly(_ fixture: BackendFixture) throws {
        let backend = try make(fixture)
        let app = site(backend)
        let old = try logIn("ann", to: app)
        let new = try #require(exchange(app, path: "/cycle", cookie: "_obs=\(old)").sessionCookie())
        #expect(new != old)
        // A request already on its way with the old id: the new session, and its cookie.
        clock.advance(10)
        let late = exchange(app, cookie: "_obs=\(old)")
        #expect(late.text == "ann [1]")
        #expect(late.sessionCookie() == new)
        // Not for another client, whose old id is worth nothing.
        #expect(exchange(app, cookie: "_obs=\(old)", address: "203.0.113.9").text == "none -")
        // Not past the grace period.
        clock.advance(21)
        let after = exchange(app, cookie: "_obs=\(old)")
        #expect(after.text == "none -")
        #expect(exchange(app, cookie: "_obs=\(new)").text == "ann [1]")
    }

    @Test(arguments: BackendFixture.all)
    func aCycleOfALoggedInSessionKeepsItAmongTheUsersSessions(_ fixture: BackendFixture) throws {
        let backend = try make(fixture)
        guard backend.userIndex != nil || backend.listing != nil else { return }
        let app = site(backend)
        let first = try logIn("ann", to: app)
        let cycled = try #require(exchange(app, path: "/cycle", cookie: "_obs=\(first)").sessionCookie())
        #expect(try backend.sessions(ofUser: "ann").map(\.id.text) == [cycled])
        #expect(exchange(app, path: "/logout-others", cookie: "_obs=\(cycled)").text == "ended 0")
        #expect(try backend.logOut(user: "ann") == 1)
        #expect(exchange(app, cookie: "_obs=\(cycled)").text == "none -")
    }

    @Test(arguments: BackendFixture.all)
    func aLogoutEndsTheOldIdAsWellAsTheNew(_ fixture: BackendFixture) throws {
        let backend = try make(fixture)
        let app = site(backend)
        let first = try logIn("ann", to: app)
        let second = try logIn("ann", to: app, cookie: "_obs=\(first)")
        _ = exchange(app, path: "/logout", cookie: "_obs=\(second)")
        #expect(exchange(app, cookie: "_obs=\(first)").text == "none -")
        #expect(exchange(app, cookie: "_obs=\(second)").text == "none -")
    }

    @Test(arguments: BackendFixture.all)
    func withNoGracePeriodTheOldIdIsGoneAtOnce(_ fixture: BackendFixture) throws {
        let backend = try make(fixture)
        let app = site(backend, grace: 0)
        let first = try logIn("ann", to: app)
        _ = try logIn("ann", to: app, cookie: "_obs=\(first)")
        #expect(exchange(app, cookie: "_obs=\(first)").text == "none -")
        #expect(try backend.load(SessionID(validating: first, format: backend.idFormat)!) == nil)
    }
}
