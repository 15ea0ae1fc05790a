import Foundation
import TestSupport
import Testing

/// The demo site behind a real nginx: what a browser or an HTTP client sees on the wire.
@Suite(.serialized, .requires("/usr/sbin/nginx", "/usr/bin/curl")) struct DemoIntegrationTests {
    @Test func sessionCookieCarriesItsAttributesOnTheWire() throws {
        let directory = try TemporaryDirectory()
        let demo = try DemoServer(in: directory)
        let response = try demo.request("/incr?key=n", method: "POST")
        #expect(response.text == "1\n")
        let setCookie = try #require(response.header("Set-Cookie"))
        #expect(setCookie.range(of: "^_obs=[A-Za-z0-9.-]{40}; Path=/; Secure; HttpOnly; SameSite=Lax$", options: .regularExpression) != nil)
        #expect(response.header("Cache-Control") == "no-store")
        #expect(response.header("Vary") == "Cookie")
        #expect(demo.sessionFiles.count == 1)
    }

    @Test func counterCountsWithinOneSession() throws {
        let directory = try TemporaryDirectory()
        let demo = try DemoServer(in: directory)
        let cookie = try #require(try demo.request("/incr?key=n", method: "POST").sessionCookie)
        var answers: [String] = []
        for _ in 0..<4 { answers.append(try demo.request("/incr?key=n", method: "POST", cookie: cookie).text) }
        #expect(answers == ["2\n", "3\n", "4\n", "5\n"])
        #expect(try demo.request("/session.json", cookie: cookie).text == "{\"n\":5}\n")
    }

    @Test func loginCyclesTheIdAndLogoutDeletesTheSession() throws {
        let directory = try TemporaryDirectory()
        let demo = try DemoServer(in: directory)
        let home = try demo.request("/")
        let before = try #require(home.sessionCookie)
        let token = try #require(home.csrfToken)
        let login = try demo.request("/login", method: "POST", cookie: before, form: "user=ann&csrf=\(token)")
        #expect(login.status == 303)
        #expect(login.header("Location") == "/")
        let after = try #require(login.sessionCookie)
        #expect(after != before)
        #expect(try demo.request("/session.json", cookie: after).text.contains("\"_user\":\"ann\""))
        // For the grace period the old id forwards this client to the new session, and only that.
        let late = try demo.request("/session.json", cookie: before)
        #expect(late.text.contains("\"_user\":\"ann\""))
        #expect(late.sessionCookie == after)
        #expect(demo.sessionFiles == ["s_" + after.dropFirst(5), "s_" + before.dropFirst(5)].sorted())
        let newToken = try #require(try demo.request("/", cookie: after).csrfToken)
        let logout = try demo.request("/logout", method: "POST", cookie: after, form: "csrf=\(newToken)")
        #expect(logout.status == 303)
        #expect(logout.header("Set-Cookie")?.hasPrefix("_obs=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/") == true)
        #expect(demo.sessionFiles == ["s_" + before.dropFirst(5)], "the old id's forward, until its grace period ends")
        #expect(try demo.request("/session.json", cookie: after).text == "{}\n")
        #expect(try demo.request("/session.json", cookie: before).text == "{}\n", "it forwards to nothing")
    }

    @Test func attackersWellFormedIdIsReplaced() throws {
        let directory = try TemporaryDirectory()
        let demo = try DemoServer(in: directory)
        let chosen = "_obs=" + String(repeating: "A", count: 40)
        let response = try demo.request("/incr?key=n", method: "POST", cookie: chosen)
        let issued = try #require(response.sessionCookie)
        #expect(issued != chosen)
        #expect(!demo.sessionFiles.contains("s_" + String(repeating: "A", count: 40)))
    }

    @Test func malformedIdNeverReachesTheFileSystem() throws {
        let directory = try TemporaryDirectory()
        let demo = try DemoServer(in: directory)
        try "secret".write(toFile: directory.file("victim"), atomically: false, encoding: .utf8)
        for hostile in ["../victim", "../../../../etc/passwd", "s_/../../victim", String(repeating: "A", count: 39) + "/",
                        String(repeating: "A", count: 41), "%2e%2e%2fvictim"] {
            let response = try demo.request("/session.json", cookie: "_obs=\(hostile)")
            #expect(response.status == 200)
            #expect(response.text == "{}\n")
        }
        #expect(demo.sessionFiles.isEmpty)
        #expect(try String(contentsOfFile: directory.file("victim"), encoding: .utf8) == "secret")
    }

    @Test func storeRemovedWhileServingIsMadeAgainForTheNextVisitor() throws {
        // An administrator's rm -rf, or a cleaner of /tmp: the server must not need a restart.
        let directory = try TemporaryDirectory()
        let demo = try DemoServer(in: directory)
        let gone = try #require(try demo.request("/incr?key=n", method: "POST").sessionCookie)
        try FileManager.default.removeItem(atPath: demo.sessions)
        let response = try demo.request("/incr?key=n", method: "POST")
        #expect(response.status == 200)
        #expect(response.text == "1\n")
        let cookie = try #require(response.sessionCookie)
        #expect(demo.sessionFiles == ["s_" + cookie.dropFirst(5)])
        #expect(try demo.request("/session.json", cookie: gone).text == "{}\n")
    }

    @Test func requestThatDoesNotChangeTheSessionSetsNoCookie() throws {
        let directory = try TemporaryDirectory()
        let demo = try DemoServer(in: directory)
        let response = try demo.request("/session.json")
        #expect(response.text == "{}\n")
        #expect(response.values("Set-Cookie").isEmpty)
        #expect(demo.sessionFiles.isEmpty)
    }

    @Test func flashShowsOnce() throws {
        let directory = try TemporaryDirectory()
        let demo = try DemoServer(in: directory)
        let home = try demo.request("/")
        let login = try demo.request("/login", method: "POST", cookie: home.sessionCookie, form: "user=bob&csrf=\(home.csrfToken ?? "")")
        let cookie = try #require(login.sessionCookie)
        #expect(try demo.request("/", cookie: cookie).text.contains("<p class=flash>Welcome, bob.</p>"))
        #expect(!(try demo.request("/", cookie: cookie).text.contains("class=flash")))
    }

    @Test func loginWithAWrongCSRFTokenIsRefused() throws {
        let directory = try TemporaryDirectory()
        let demo = try DemoServer(in: directory)
        let home = try demo.request("/")
        let cookie = try #require(home.sessionCookie)
        let forged = try demo.request("/login", method: "POST", cookie: cookie, form: "user=mallory&csrf=" + String(repeating: "x", count: 40))
        #expect(forged.status == 403)
        let missing = try demo.request("/login", method: "POST", cookie: cookie, form: "user=mallory")
        #expect(missing.status == 403)
        #expect(!(try demo.request("/session.json", cookie: cookie).text.contains("mallory")))
    }

    @Test func userNameIsEscapedInThePage() throws {
        let directory = try TemporaryDirectory()
        let demo = try DemoServer(in: directory)
        let home = try demo.request("/")
        let login = try demo.request("/login", method: "POST", cookie: home.sessionCookie,
                                     form: "user=%3Cscript%3Ealert(1)%3C%2Fscript%3E&csrf=\(home.csrfToken ?? "")")
        let page = try demo.request("/", cookie: login.sessionCookie).text
        #expect(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
        #expect(!page.contains("<script>"))
    }

    @Test func realHTTPClientWithACookieJarStaysLoggedIn() throws {
        let directory = try TemporaryDirectory()
        let demo = try DemoServer(in: directory, arguments: ["--cookie-secure", "off"])
        let jar = directory.file("jar")
        let base = "http://127.0.0.1:\(demo.nginx.port)"
        func curl(_ arguments: [String]) throws -> String {
            let child = try ChildProcess("/usr/bin/curl", ["-s", "-c", jar, "-b", jar] + arguments, in: directory, name: "curl")
            #expect(child.waitForExit() == 0)
            return child.output
        }
        let home = try curl([base + "/"])
        let token = try #require(home.range(of: "name=csrf value=\"").map { String(home[$0.upperBound...].prefix { $0 != "\"" }) })
        _ = try curl(["-L", "--data", "user=carol&csrf=\(token)", base + "/login"])
        let page = try curl([base + "/"])
        #expect(page.contains("Logged in as <b id=user>carol</b>"))
        #expect(try curl([base + "/session.json"]).contains("\"_user\":\"carol\""))
    }
}
