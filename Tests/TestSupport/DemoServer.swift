import Foundation
import Testing

/// The `demo` example serving FastCGI on a socket in `directory`, with nginx in front.
package final class DemoServer {
    package let child: ChildProcess
    package let nginx: Nginx
    package let sessions: String

    /// Every demo process behind nginx; `processes` of them share one session directory.
    package let children: [ChildProcess]

    /// Starts `processes` demo processes with `arguments` and `environment`, and nginx in front;
    /// `nginxExtra` goes into nginx's `server` block.
    package init(in directory: TemporaryDirectory, arguments: [String] = [], processes: Int = 1, environment: [String: String] = [:],
         nginxExtra: String = "") throws {
        sessions = directory.file("sessions")
        var children: [ChildProcess] = []
        for index in 0..<processes {
            children.append(try ChildProcess.demo(listening: "unix:" + directory.file("demo\(index).sock"), sessions: sessions,
                                                  arguments: arguments, in: directory, name: "demo\(index)",
                                                  environment: environment))
        }
        self.children = children
        child = children[0]
        nginx = try Nginx(upstreams: (0..<processes).map { "unix:" + directory.file("demo\($0).sock") }, in: directory,
                          extra: nginxExtra)
    }

    /// The session files' names (not the index of users' sessions, `users`).
    package var sessionFiles: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: sessions)) ?? []).filter { $0 != "users" }.sorted()
    }

    package func request(_ path: String, method: String = "GET", cookie: String? = nil, form: String? = nil) throws -> HTTPResponse {
        try nginx.request(path, method: method, cookie: cookie, form: form)
    }

    /// Logs in as `user` from a fresh visit, and returns the logged-in session's cookie and the
    /// page's CSRF token.
    package func logIn(_ user: String) throws -> (cookie: String, token: String) {
        let home = try request("/")
        let token = try #require(home.csrfToken)
        let login = try request("/login", method: "POST", cookie: home.sessionCookie, form: "user=\(user)&csrf=\(token)")
        let cookie = try #require(login.sessionCookie)
        let page = try request("/", cookie: cookie)
        return (cookie, try #require(page.csrfToken))
    }
}

extension ChildProcess {
    /// Starts the `demo` example on `address` (`unix:PATH` with mode 666, or `HOST:PORT`), its
    /// sessions in `sessions`, and waits until it accepts connections.
    package static func demo(listening address: String, sessions: String, arguments: [String] = [], in directory: TemporaryDirectory,
                     name: String = "demo", environment: [String: String] = [:]) throws -> ChildProcess {
        let socketMode = address.hasPrefix("unix:") ? ["--socket-mode", "666"] : []
        let demo = try ChildProcess(TestEnvironment.executable("demo"),
                                    ["--listen", address] + socketMode + ["--sessions", sessions] + arguments,
                                    in: directory, name: name, environment: environment)
        guard waitUntilAccepting(address) else {
            throw TestFailure("\(name) did not start: \(demo.errorOutput)")
        }
        return demo
    }
}

extension Nginx {
    /// Sends one request with the session's `cookie` and an urlencoded `form` body, if given.
    package func request(_ path: String, method: String = "GET", cookie: String?, form: String? = nil) throws -> HTTPResponse {
        try HTTPClient.request(port: port, path, method: method, cookie: cookie, form: form)
    }
}

extension HTTPClient {
    /// Sends one request to `port` with the session's `cookie` and an urlencoded `form` body, if given.
    package static func request(port: UInt16, _ path: String, method: String = "GET", cookie: String?, form: String? = nil) throws -> HTTPResponse {
        var headers: [(String, String)] = []
        if let cookie { headers.append(("Cookie", cookie)) }
        if form != nil { headers.append(("Content-Type", "application/x-www-form-urlencoded")) }
        return try request(port: port, method: method, path: path, headers: headers, body: Array((form ?? "").utf8))
    }
}

extension HTTPResponse {
    /// `name=value` of the session cookie this response sets, if any.
    package var sessionCookie: String? {
        values("Set-Cookie").first { $0.hasPrefix("_obs=") }.map { String($0.prefix { $0 != ";" }) }
    }

    /// The CSRF token in the demo's page.
    package var csrfToken: String? {
        guard let range = text.range(of: "name=csrf value=\"") else { return nil }
        return String(text[range.upperBound...].prefix { $0 != "\"" })
    }
}
