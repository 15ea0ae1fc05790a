import Foundation
import TestSupport
import Testing

/// The demo as a visitor sees it, in Debian's headless Chromium behind nginx: logging in with
/// remember me, the "Active sessions" page of a user signed in from three clients, and logging
/// out everywhere else from it; a screenshot checked for what a user must see.
@Suite(.serialized, .requires(HeadlessChromium.driver, "/usr/bin/chromium")) struct DemoBrowserTests {
    @Test func threeClientsOfOneUserAndLogOutEverywhereElseFromTheBrowser() throws {
        let directory = try TemporaryDirectory()
        let demo = try DemoServer(in: directory, arguments: ["--cookie-secure", "off"])
        let site = "http://127.0.0.1:\(demo.nginx.port)"
        let browser = try HeadlessChromium(in: directory, userAgent: "Chromium on the test's desk")

        try browser.open(site + "/")
        #expect(try browser.title() == "Sessions, kept on the server · Obsession demo")
        #expect(try browser.css("background-color", of: try browser.element("header")) == "rgba(29, 35, 48, 1)", "the style sheet applies")
        try browser.type("ann", into: try browser.element("input[name=user]"))
        try browser.click(try browser.element("input[name=remember]"))
        try browser.submit(try browser.element("form[action='/login'] button"), thenWaitFor: ".flash")
        #expect(try browser.text(try browser.element(".flash")) == "Welcome, ann.")
        #expect(try browser.text(try browser.element("#user")) == "ann")
        #expect(try browser.pageText().contains("This session is remembered: it stays logged in when the browser closes."))

        // Two more clients of ann's: another browser, and a script with its own cookie.
        let second = try HeadlessChromium(in: directory, name: "second", userAgent: "Second browser")
        try second.open(site + "/")
        try second.type("ann", into: try second.element("input[name=user]"))
        try second.submit(try second.element("form[action='/login'] button"), thenWaitFor: "#user")
        #expect(try second.text(try second.element("#user")) == "ann")
        let (third, _) = try demo.logIn("ann")

        try browser.open(site + "/sessions")
        #expect(try browser.title() == "Active sessions · Obsession demo")
        let rows = try browser.elements("#sessions tr.current, #sessions tr.other")
        #expect(rows.count == 3)
        let current = try browser.text(try browser.element("#sessions tr.current"))
        #expect(current.contains("Chromium on the test's desk · remembered") && current.contains("this browser"), "\(current)")
        #expect(try browser.pageText().contains("Second browser"))
        #expect(try browser.elements("#sessions tr.other button").count == 2)
        let everywhere = try browser.element("#logout-others")
        #expect(try browser.text(everywhere) == "Log out everywhere else")

        // The screenshot: the window as drawn, with the table and the button inside it, shown.
        let screenshot = try browser.screenshot()
        try Data(screenshot).write(to: URL(fileURLWithPath: directory.file("sessions-page.png")))
        let size = try #require(HeadlessChromium.pngSize(screenshot))
        #expect(size.width == 1100 && size.height > 500, "\(size)")
        for element in [try browser.element("#sessions"), everywhere, try browser.element("header")] {
            #expect(try browser.isDisplayed(element))
            let rect = try browser.rect(element)
            #expect(rect.x >= 0 && rect.y >= 0 && rect.x + rect.width <= Double(size.width) && rect.y + rect.height <= Double(size.height),
                    "\(rect) outside the \(size) screenshot")
        }
        // Drawn, not blank: a table of three rows makes a PNG far larger than an empty box.
        #expect(try browser.screenshot(of: try browser.element("#sessions")).count > 4000)

        // Log out this one: the second browser's row.
        let secondRow = try #require(try browser.elements("#sessions tr.other").first { try browser.text($0).contains("Second browser") })
        try browser.submit(try browser.element("button", in: secondRow), thenWaitFor: ".flash")
        #expect(try browser.text(try browser.element(".flash")) == "Logged out that session.")
        #expect(try browser.elements("#sessions tr.other").count == 1)
        #expect(!(try browser.pageText().contains("Second browser")))
        try second.open(site + "/")
        #expect(try second.pageText().contains("Not logged in"))

        try browser.submit(try browser.element("#logout-others"), thenWaitFor: ".flash")
        #expect(try browser.text(try browser.element(".flash")) == "Logged out 1 other session.")
        #expect(try browser.elements("#sessions tr.current, #sessions tr.other").count == 1)
        #expect(try demo.request("/session.json", cookie: third).text == "{}\n")

        // Logging out of this one: back to the login form.
        try browser.submit(try browser.element("header form button"), thenWaitFor: "input[name=user]")
        #expect(try browser.elements("input[name=user]").count == 1)
    }
}
