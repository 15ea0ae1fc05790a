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
            children.append(try ChildProcess.demo(listening: "unix:" + directory.file("demo\(index).sock"), sessions: sessions,
                                                  arguments: arguments, in: directory, name: "demo\(index)"))
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

extension ChildProcess {
    /// Starts the `demo` example on `address` (`unix:PATH` with mode 666, or `HOST:PORT`), its
    /// sessions in `sessions`, and waits until `listeners` processes say they listen (a
    /// supervisor's workers each do).
    static func demo(listening address: String, sessions: String, arguments: [String] = [], in directory: TemporaryDirectory,
                     name: String = "demo", listeners: Int = 1) throws -> ChildProcess {
        let socketMode = address.hasPrefix("unix:") ? ["--socket-mode", "666"] : []
        let demo = try ChildProcess(TestEnvironment.executable("demo"),
                                    ["--listen", address] + socketMode + ["--sessions", sessions] + arguments,
                                    in: directory, name: name)
        guard waitUntil({ demo.errorOutput.components(separatedBy: "listening on").count > listeners }) else {
            throw TestFailure("\(name) did not start: \(demo.errorOutput)")
        }
        return demo
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
