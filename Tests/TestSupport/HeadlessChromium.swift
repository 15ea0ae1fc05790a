import Foundation

/// Debian's chromium, headless, driven through chromedriver's WebDriver protocol on loopback:
/// a real browser with its own cookie jar. Stopped (browser and driver) when let go.
package final class HeadlessChromium {
    package static let driver = "/usr/bin/chromedriver"
    private let chromedriver: ChildProcess
    private let port: UInt16
    private let session: String

    /// Starts chromedriver and a browser whose window is `width` × `height`, which sends
    /// `userAgent`.
    package init(in directory: TemporaryDirectory, name: String = "chromium", width: Int = 1100, height: Int = 800,
                 userAgent: String = "Chromium test") throws {
        port = try freePort()
        chromedriver = try ChildProcess(Self.driver, ["--port=\(port)"], in: directory, name: "\(name)-driver")
        // Another server may have taken the port first (it was free a moment ago): chromedriver then stops.
        guard waitUntilAccepting("127.0.0.1:\(port)"), chromedriver.isRunning else {
            throw TestFailure("chromedriver did not start: \(chromedriver.errorOutput)")
        }
        let profile = directory.file("\(name)-profile")
        let capabilities: [String: Any] = ["capabilities": ["alwaysMatch": ["browserName": "chrome", "goog:chromeOptions": [
            "binary": "/usr/bin/chromium",
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=\(width),\(height)",
                     "--user-data-dir=\(profile)", "--user-agent=\(userAgent)"],
        ]]]]
        let reply = try Self.call(port: port, "POST", "/session", capabilities)
        guard let session = (reply as? [String: Any])?["sessionId"] as? String else { throw TestFailure("no WebDriver session: \(reply)") }
        self.session = session
    }

    deinit {
        _ = try? Self.call(port: port, "DELETE", "/session/\(session)", nil)
        chromedriver.signal(SIGTERM)
        _ = chromedriver.waitForExit(seconds: 5)
    }

    /// Sends one WebDriver command; its `value`.
    @discardableResult
    private static func call(port: UInt16, _ method: String, _ path: String, _ body: Any?) throws -> Any {
        let bytes = try body.map { try JSONSerialization.data(withJSONObject: $0) }.map(Array.init) ?? []
        let response = try exchange(port: port, method: method, path: path, body: bytes)
        let object = try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]
        guard response.status == 200, let value = object?["value"] else {
            throw TestFailure("WebDriver \(method) \(path) answered \(response.status): \(response.text.prefix(500))")
        }
        return value
    }

    /// One request to chromedriver, which keeps the connection open after its answer whatever
    /// the request says: read up to the answer's Content-Length, not to the end of the stream.
    private static func exchange(port: UInt16, method: String, path: String, body: [UInt8]) throws -> HTTPResponse {
        let descriptor = try HTTPClient.connect(port: port)
        defer { close(descriptor) }
        let head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: \(body.count)\r\n\r\n"
        try HTTPClient.sendAll(descriptor, Array(head.utf8) + body)
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            if let end = received.firstRange(of: [13, 10, 13, 10]) {
                let headers = String(decoding: received[..<end.lowerBound], as: UTF8.self).lowercased()
                let length = headers.components(separatedBy: "\r\n").first { $0.hasPrefix("content-length:") }
                    .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) }
                if let length, received.count - end.upperBound >= length { return try HTTPClient.parse(received) }
            }
            let count = recv(descriptor, &chunk, chunk.count, 0)
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { return try HTTPClient.parse(received) }
            received += chunk[..<count]
        }
    }

    @discardableResult
    private func call(_ method: String, _ path: String, _ body: Any? = nil) throws -> Any {
        try Self.call(port: port, method, "/session/\(session)" + path, body)
    }

    /// Loads `url` and waits for it.
    package func open(_ url: String) throws { try call("POST", "/url", ["url": url]) }

    /// The elements `selector` (CSS) finds, in document order.
    package func elements(_ selector: String) throws -> [String] {
        let found = try call("POST", "/elements", ["using": "css selector", "value": selector]) as? [[String: String]] ?? []
        return found.compactMap { $0.values.first }
    }

    /// The one element `selector` finds.
    package func element(_ selector: String) throws -> String {
        guard let first = try elements(selector).first else { throw TestFailure("no element \(selector) on \(try title())") }
        return first
    }

    /// The first element `selector` finds inside `parent`.
    package func element(_ selector: String, in parent: String) throws -> String {
        let found = try call("POST", "/element/\(parent)/element", ["using": "css selector", "value": selector]) as? [String: String]
        guard let element = found?.values.first else { throw TestFailure("no element \(selector) in \(parent)") }
        return element
    }

    package func click(_ element: String) throws { try call("POST", "/element/\(element)/click", [String: String]()) }

    /// Clicks `element`, which submits a form, and waits until the page it leads to shows `selector`:
    /// a click returns before the navigation it starts has ended.
    package func submit(_ element: String, thenWaitFor selector: String) throws {
        let before = try self.element("html")
        try click(element)
        guard waitUntil({ (try? self.element("html")) != before && (try? self.elements(selector).isEmpty) == false }) else {
            throw TestFailure("no \(selector) after the submission, on \(try title())")
        }
    }

    package func type(_ text: String, into element: String) throws { try call("POST", "/element/\(element)/value", ["text": text]) }

    package func text(_ element: String) throws -> String { try call("GET", "/element/\(element)/text") as? String ?? "" }

    package func isDisplayed(_ element: String) throws -> Bool { try call("GET", "/element/\(element)/displayed") as? Bool ?? false }

    package func isSelected(_ element: String) throws -> Bool { try call("GET", "/element/\(element)/selected") as? Bool ?? false }

    /// The computed value of CSS `property` for `element`.
    package func css(_ property: String, of element: String) throws -> String {
        try call("GET", "/element/\(element)/css/\(property)") as? String ?? ""
    }

    /// Where `element` is drawn, in CSS pixels.
    package func rect(_ element: String) throws -> (x: Double, y: Double, width: Double, height: Double) {
        let rect = try call("GET", "/element/\(element)/rect") as? [String: Double] ?? [:]
        return (rect["x"] ?? -1, rect["y"] ?? -1, rect["width"] ?? 0, rect["height"] ?? 0)
    }

    package func title() throws -> String { try call("GET", "/title") as? String ?? "" }

    /// The whole page's text.
    package func pageText() throws -> String { try text(try element("body")) }

    /// A PNG of the window as drawn, or of one element.
    package func screenshot(of element: String? = nil) throws -> [UInt8] {
        let path = element.map { "/element/\($0)/screenshot" } ?? "/screenshot"
        guard let text = try call("GET", path) as? String, let data = Data(base64Encoded: text) else { throw TestFailure("no screenshot") }
        return Array(data)
    }

    /// The width and height a PNG's header gives; nil for bytes that are no PNG.
    package static func pngSize(_ png: [UInt8]) -> (width: Int, height: Int)? {
        guard png.count > 24, png.prefix(8).elementsEqual([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]),
              png[12..<16].elementsEqual(Array("IHDR".utf8)) else { return nil }
        func number(_ offset: Int) -> Int { png[offset..<(offset + 4)].reduce(0) { $0 << 8 | Int($1) } }
        return (number(16), number(20))
    }
}
