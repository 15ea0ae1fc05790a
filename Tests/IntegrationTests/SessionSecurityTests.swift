import Foundation
import TestSupport
import Testing

/// What a session promises an attacker's requests, and the logs and caches they pass through,
/// seen through nginx in front of the demo.
@Suite(.serialized, .requires("/usr/sbin/nginx")) struct SessionSecurityTests {
    @Test func loginGivesANewCSRFToken() throws {
        let directory = try TemporaryDirectory()
        let demo = try DemoServer(in: directory)
        let home = try demo.request("/")
        let planted = try #require(home.csrfToken)
        let login = try demo.request("/login", method: "POST", cookie: home.sessionCookie, form: "user=ann&csrf=\(planted)")
        let after = try demo.request("/", cookie: login.sessionCookie)
        #expect(after.text.contains("Logged in as"))
        let token = try #require(after.csrfToken)
        #expect(token != planted)
        // The token known before login no longer logs the user out.
        #expect(try demo.request("/logout", method: "POST", cookie: login.sessionCookie, form: "csrf=\(planted)").status == 403)
    }

    @Test func anIdPlantedBeforeALoginIsWorthNothingToAnotherClientDuringTheGracePeriod() throws {
        let directory = try TemporaryDirectory()
        let demo = try DemoServer(in: directory)
        // The attacker's own visit gives the id planted in the victim's browser.
        let planted = try #require(try demo.request("/").sessionCookie)
        let page = try demo.nginx.request("/", headers: [("Cookie", planted), ("User-Agent", "Victim/1")])
        let token = try #require(page.csrfToken)
        let login = try demo.nginx.request("/login", method: "POST",
                                           headers: [("Cookie", planted), ("User-Agent", "Victim/1"),
                                                     ("Content-Type", "application/x-www-form-urlencoded")],
                                           body: Array("user=victim&csrf=\(token)".utf8))
        let victim = try #require(login.sessionCookie)
        #expect(victim != planted)
        // Within the grace period, the planted id from the attacker's browser: nothing.
        let attacker = try demo.nginx.request("/session.json", headers: [("Cookie", planted), ("User-Agent", "Attacker/1")])
        #expect(attacker.text == "{}\n")
        #expect(attacker.sessionCookie == nil)
        // The victim's own request already on its way with the planted id: forwarded.
        let late = try demo.nginx.request("/session.json", headers: [("Cookie", planted), ("User-Agent", "Victim/1")])
        #expect(late.text.contains("\"_user\":\"victim\""))
        #expect(late.sessionCookie == victim)
    }

    @Test func unknownCookieOfTheSameNameBeforeTheRealOneDoesNotLogTheUserOut() throws {
        let directory = try TemporaryDirectory()
        let demo = try DemoServer(in: directory)
        let (cookie, _) = try demo.logIn("ann")
        let tossed = "_obs=" + String(repeating: "Q", count: 40)
        let response = try demo.request("/session.json", cookie: "\(tossed); \(cookie)")
        #expect(response.text.contains("\"_user\":\"ann\""))
        #expect(response.values("Set-Cookie").isEmpty)
    }

    @Test func responseThatReadTheSessionIsKeptOutOfSharedCaches() throws {
        let directory = try TemporaryDirectory()
        let demo = try DemoServer(in: directory)
        let (cookie, _) = try demo.logIn("ann")
        let response = try demo.request("/session.json", cookie: cookie)
        #expect(response.values("Set-Cookie").isEmpty)
        #expect(response.header("Cache-Control") == "private")
        #expect(response.header("Vary") == "Cookie")
    }

    @Test func foreignOwnedSessionFileCostsNoDescriptorAndItsIdStaysOutOfTheLog() throws {
        let directory = try TemporaryDirectory()
        let demo = try DemoServer(in: directory)
        let cookie = try #require(try demo.request("/incr?key=n", method: "POST").sessionCookie)
        let id = String(cookie.dropFirst(5))
        // Another user's file where the session was: refused, never trusted.
        #expect(chown(demo.sessions + "/s_" + id, 65534, 65534) == 0)
        let before = ProcessInspection.openDescriptors(of: demo.child.pid)
        for _ in 0..<50 {
            let response = try demo.request("/session.json", cookie: cookie)
            #expect(response.status == 200)
            #expect(response.text == "{}\n")
        }
        // No more than before: a descriptor of the request before may have been open then.
        #expect(ProcessInspection.openDescriptors(of: demo.child.pid) <= before)
        #expect(waitUntil(seconds: 5) { demo.nginx.errorLog.contains("belongs to another user") })
        #expect(!demo.nginx.errorLog.contains(id), "the session id is a credential: it must not reach the log")
    }

    @Test func fullDiskLogsTheCauseWithoutTheSessionId() throws {
        let directory = try TemporaryDirectory()
        let filesystem = try ScratchFilesystem(kilobytes: 256)
        let demo = try DemoServer(in: directory, arguments: ["--sessions", filesystem.path + "/sessions"])
        let cookie = try #require(try demo.request("/incr?key=n", method: "POST").sessionCookie)
        let id = String(cookie.dropFirst(5))
        filesystem.fill()
        let response = try demo.request("/incr?key=" + String(repeating: "k", count: 5000), method: "POST", cookie: cookie)
        #expect(response.status == 500)
        #expect(waitUntil(seconds: 5) { demo.nginx.errorLog.contains("no space left on device") })
        #expect(!demo.nginx.errorLog.contains(id), "the session id is a credential: it must not reach the log")
        #expect(try demo.request("/session.json", cookie: cookie).text == "{\"n\":1}\n", "the old session stays whole")
    }
}
