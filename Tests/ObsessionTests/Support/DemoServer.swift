import Foundation

/// The `demo` example serving FastCGI on a socket in `directory`, with nginx in front.
final class DemoServer {
    let child: ChildProcess
    let nginx: Nginx
    let sessions: String

    /// Every demo process behind nginx; `processes` of them share one session directory.
    let children: [ChildProcess]

    init(in directory: TemporaryDirectory, arguments: [String] = [], processes: Int = 1) throws {
        sessions = directory.file("sessions")
        var children: [ChildProcess] = []
        for index in 0..<processes {
            let socket = directory.file("demo\(index).sock")
            let child = try ChildProcess(TestEnvironment.executable("demo"),
                                         ["--listen", "unix:\(socket)", "--socket-mode", "666", "--sessions", sessions] + arguments,
                                         in: directory, name: "demo\(index)")
            guard waitUntil({ child.errorOutput.contains("listening on") }) else {
                throw TestFailure("demo did not start: \(child.errorOutput)")
            }
            children.append(child)
        }
        self.children = children
        child = children[0]
        nginx = try Nginx(upstreams: (0..<processes).map { "unix:" + directory.file("demo\($0).sock") }, in: directory)
    }

    /// The session files' names.
    var sessionFiles: [String] { ((try? FileManager.default.contentsOfDirectory(atPath: sessions)) ?? []).sorted() }

    func request(_ path: String, method: String = "GET", cookie: String? = nil, form: String? = nil) throws -> HTTPResponse {
        var headers: [(String, String)] = []
        if let cookie { headers.append(("Cookie", cookie)) }
        if form != nil { headers.append(("Content-Type", "application/x-www-form-urlencoded")) }
        return try nginx.request(path, method: method, headers: headers, body: Array((form ?? "").utf8))
    }
}

extension HTTPResponse {
    /// `name=value` of the session cookie this response sets, if any.
    var sessionCookie: String? {
        values("Set-Cookie").first { $0.hasPrefix("_obs=") }.map { String($0.prefix { $0 != ";" }) }
    }

    /// The CSRF token in the demo's page.
    var csrfToken: String? {
        guard let range = text.range(of: "name=csrf value=\"") else { return nil }
        return String(text[range.upperBound...].prefix { $0 != "\"" })
    }
}
