import Foundation
import TestSupport
import Testing

/// Remember me and the grace period after a login, through nginx in front of the demo, in real
/// time: short timeouts given on the demo's command line.
@Suite(.serialized, .requires("/usr/sbin/nginx")) struct SessionManagementTests {
    /// Logs in as `user` from a fresh visit, with remember me if asked: the cookie before the
    /// login, the one after, and the login's answer.
    func logIn(_ demo: DemoServer, _ user: String, remember: Bool = false) throws -> (before: String, after: String, answer: HTTPResponse) {
        let home = try demo.request("/")
        let before = try #require(home.sessionCookie)
        let login = try demo.request("/login", method: "POST", cookie: before,
                                     form: "user=\(user)&csrf=\(try #require(home.csrfToken))" + (remember ? "&remember=on" : ""))
        return (before, try #require(login.sessionCookie), login)
    }

    @Test func theOldCookieWorksJustAfterALoginAndNotJustAfterTheGracePeriod() throws {
        let directory = try TemporaryDirectory()
        let demo = try DemoServer(in: directory, arguments: ["--cycle-grace-period", "2"])
        let (before, after, _) = try logIn(demo, "ann")
        let late = try demo.request("/", cookie: before)
        #expect(late.text.contains("<b id=user>ann</b>"))
        #expect(late.sessionCookie == after, "the request with the old id gets the new cookie")
        usleep(3_200_000)
        let tooLate = try demo.request("/session.json", cookie: before)
        #expect(tooLate.text == "{}\n")
        #expect(demo.sessionFiles == ["s_" + after.dropFirst(5)], "the old id's forward is gone")
        #expect(try demo.request("/", cookie: after).text.contains("<b id=user>ann</b>"))
    }

    @Test func aRememberedLoginOutlivesTheIdleTimeoutAndItsCookieTheBrowser() throws {
        let directory = try TemporaryDirectory()
        let demo = try DemoServer(in: directory, arguments: ["--idle-timeout", "2", "--remembered-lifetime", "600"])
        let remembered = try logIn(demo, "ann", remember: true)
        let plain = try logIn(demo, "bob")
        #expect(remembered.answer.values("Set-Cookie").first?.contains("; Max-Age=600;") == true, "\(remembered.answer.values("Set-Cookie"))")
        #expect(plain.answer.values("Set-Cookie").first?.contains("Max-Age") == false, "a browser-session cookie")
        usleep(3_500_000)
        #expect(try demo.request("/", cookie: plain.after).text.contains("Not logged in"))
        #expect(try demo.request("/", cookie: remembered.after).text.contains("<b id=user>ann</b>"))
        // The idle workers collect sessions idle for over 2 s every second: ann's file stays.
        #expect(!demo.sessionFiles.contains("s_" + plain.after.dropFirst(5)))
        #expect(demo.sessionFiles.contains("s_" + remembered.after.dropFirst(5)))
    }
}
