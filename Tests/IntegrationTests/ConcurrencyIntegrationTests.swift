import Foundation
import TestSupport
import Testing

/// Many requests of one session at once, through nginx into one or two demo processes sharing a
/// session directory: no update may be lost.
@Suite(.serialized, .requires("/usr/sbin/nginx")) struct ConcurrencyIntegrationTests {
    /// Sends `count` requests at once (up to 50 in flight), `path(index)` each, with `cookie`.
    func concurrently(_ count: Int, port: UInt16, cookie: String, path: @escaping @Sendable (Int) -> String) -> Int {
        let results = Results()
        DispatchQueue.concurrentPerform(iterations: count) { index in
            let response = try? HTTPClient.request(port: port, method: "POST", path: path(index), headers: [("Cookie", cookie)])
            results.record(response?.status == 200)
        }
        return results.good
    }

    @Test(arguments: [1, 2])
    func distinctKeysChangedAtOnceAllSurvive(processes: Int) throws {
        let directory = try TemporaryDirectory()
        let demo = try DemoServer(in: directory, arguments: ["--workers", "4"], processes: processes)
        let cookie = try #require(try demo.request("/incr?key=start", method: "POST").sessionCookie)
        #expect(concurrently(100, port: demo.nginx.port, cookie: cookie) { "/incr?key=k\($0)" } == 100)
        let json = try demo.request("/session.json", cookie: cookie).text
        for index in 0..<100 { #expect(json.contains("\"k\(index)\":1"), "key k\(index) lost") }
        #expect(json.contains("\"start\":1"))
    }

    /// A key long enough to make the session's record larger than a page (about 5.6 KB), which
    /// is replaced by rename rather than rewritten in place.
    static let largeKey = String(repeating: "p", count: 5600)

    @Test(arguments: [1, 2], [false, true])
    func oneKeyIncrementedAtOnceUnderTheExclusiveLockCountsExactly(processes: Int, large: Bool) throws {
        let directory = try TemporaryDirectory()
        let demo = try DemoServer(in: directory, arguments: ["--workers", "4", "--locking", "exclusive"], processes: processes)
        let cookie = try #require(try demo.request("/incr?key=n", method: "POST").sessionCookie)
        if large { _ = try demo.request("/incr?key=\(Self.largeKey)", method: "POST", cookie: cookie) }
        #expect(concurrently(200, port: demo.nginx.port, cookie: cookie) { _ in "/incr?key=n" } == 200)
        #expect(try demo.request("/session.json", cookie: cookie).text.contains("\"n\":201"))
    }

    /// Three clients keep incrementing while a fourth logs out, round after round: the logged-out
    /// session must never come back under its old id.
    @Test(arguments: ["merge", "exclusive"], [false, true])
    func logoutStandsAgainstConcurrentSaves(locking: String, large: Bool) throws {
        let directory = try TemporaryDirectory()
        let demo = try DemoServer(in: directory, arguments: ["--workers", "4", "--locking", locking])
        let port = demo.nginx.port
        var revived = 0
        let logouts = Results()
        for _ in 0..<30 {
            let home = try demo.request("/")
            let cookie = try #require(home.sessionCookie)
            let token = try #require(home.csrfToken)
            if large { _ = try demo.request("/incr?key=\(Self.largeKey)", method: "POST", cookie: cookie) }
            DispatchQueue.concurrentPerform(iterations: 4) { client in
                if client == 3 {
                    usleep(2_000)
                    let logout = try? HTTPClient.request(port: port, "/logout", method: "POST", cookie: cookie, form: "csrf=\(token)")
                    logouts.record(logout?.status == 303)
                } else {
                    for _ in 0..<6 { _ = try? HTTPClient.request(port: port, method: "POST", path: "/incr?key=n", headers: [("Cookie", cookie)]) }
                }
            }
            let id = String(cookie.dropFirst(5))
            let stored = try demo.request("/session.json", cookie: cookie).text
            if demo.sessionFiles.contains("s_" + id) || stored != "{}\n" {
                revived += 1
            }
        }
        // A logout that did not happen (the machine too loaded to take the lock in time) proves nothing.
        #expect(logouts.good == 30, "\(30 - logouts.good) logouts failed")
        #expect(revived == 0, "the logged-out session came back in \(revived) of 30 rounds")
    }
}
