import Foundation
import TestSupport
import Testing

/// Each file under deploy/ started for real with the server it configures, on loopback, and a
/// session round trip through it: log in, see the user on the next request, log out.
@Suite(.serialized, .requires("/usr/sbin/nginx", "/usr/sbin/apache2", "/usr/sbin/lighttpd", "/usr/bin/spawn-fcgi", "/usr/sbin/fcgiwrap", "/usr/bin/systemd-analyze", "/usr/bin/systemd-socket-activate")) struct DeployTests {
    /// Logs in, checks the user is known on the next request, logs out, checks the session is gone.
    func sessionRoundTrip(port: UInt16) throws {
        func request(_ path: String, method: String = "GET", cookie: String? = nil, form: String? = nil) throws -> HTTPResponse {
            try HTTPClient.request(port: port, path, method: method, cookie: cookie, form: form)
        }
        let home = try request("/")
        #expect(home.status == 200)
        let token = try #require(home.csrfToken)
        let login = try request("/login", method: "POST", cookie: home.sessionCookie, form: "user=deployer&csrf=\(token)")
        #expect(login.status == 303)
        let cookie = try #require(login.sessionCookie)
        let page = try request("/", cookie: cookie)
        #expect(page.text.contains("Logged in as <b id=user>deployer</b>"))
        // Login gave the session a new CSRF token.
        let logout = try request("/logout", method: "POST", cookie: cookie, form: "csrf=\(try #require(page.csrfToken))")
        #expect(logout.status == 303)
        #expect(logout.header("Set-Cookie")?.contains("Max-Age=0") == true)
        #expect(try request("/session.json", cookie: cookie).text == "{}\n")
    }

    func startDemo(_ socket: String, in directory: TemporaryDirectory) throws -> ChildProcess {
        try ChildProcess.demo(listening: "unix:\(socket)", sessions: directory.file("sessions"), arguments: ["--cookie-secure", "off"],
                              in: directory)
    }

    @Test func nginxWithTheDeploySnippet() throws {
        let directory = try TemporaryDirectory()
        let socket = directory.file("app.sock")
        let demo = try startDemo(socket, in: directory)
        let snippet = try DeployFile.read("nginx/obsession.conf", replacing: [
            ("include fastcgi_params;", "include /etc/nginx/fastcgi_params;"), ("/run/obsession/app.sock", socket),
        ])
        let nginx = try Nginx(locations: snippet, in: directory)
        try sessionRoundTrip(port: nginx.port)
        #expect(demo.isRunning)
    }

    @Test func nginxWithTheStatusPageSnippet() throws {
        let directory = try TemporaryDirectory()
        let socket = directory.file("app.sock")
        let demo = try ChildProcess.demo(listening: "unix:" + socket, sessions: directory.file("sessions"),
                                         arguments: ["--cookie-secure", "off", "--status-path", "/status"], in: directory)
        let replacements = [("include fastcgi_params;", "include /etc/nginx/fastcgi_params;"), ("/run/obsession/app.sock", socket)]
        let snippet = try DeployFile.read("nginx/obsession.conf", replacing: replacements)
            + DeployFile.read("nginx/obsession-status.conf", replacing: replacements)
        let nginx = try Nginx(locations: snippet, in: directory)
        try sessionRoundTrip(port: nginx.port)
        let status = try nginx.request("/status?json")
        #expect(status.status == 200)
        #expect(status.text.contains("\"store_healthy\":1") && status.text.contains("\"requests\":"), "\(status.text)")
        #expect(demo.isRunning)
    }

    @Test func nginxWithTheDeploySnippetOverTCP() throws {
        let directory = try TemporaryDirectory()
        let port = try freePort()
        let demo = try ChildProcess.demo(listening: "127.0.0.1:\(port)", sessions: directory.file("sessions"),
                                         arguments: ["--cookie-secure", "off"], in: directory)
        let snippet = try DeployFile.read("nginx/obsession.conf", replacing: [
            ("include fastcgi_params;", "include /etc/nginx/fastcgi_params;"), ("unix:/run/obsession/app.sock", "127.0.0.1:\(port)"),
        ])
        let nginx = try Nginx(locations: snippet, in: directory)
        try sessionRoundTrip(port: nginx.port)
        #expect(demo.isRunning)
    }

    @Test func lighttpdWithTheDeploySnippet() throws {
        let directory = try TemporaryDirectory()
        let socket = directory.file("app.sock")
        let demo = try startDemo(socket, in: directory)
        let snippet = try DeployFile.read("lighttpd/obsession.conf", replacing: [("/run/obsession/app.sock", socket)])
        let lighttpd = try Lighttpd(including: snippet, in: directory)
        try sessionRoundTrip(port: lighttpd.port)
        #expect(demo.isRunning)
    }

    @Test func spawnFcgiHandsTheSocketOverAsDescriptorZero() throws {
        let directory = try TemporaryDirectory()
        let socket = directory.file("app.sock")
        let script = TestEnvironment.packageRoot.appendingPathComponent("deploy/spawn-fcgi/obsession.sh").path
        let spawned = try ChildProcess("/bin/sh", [script], in: directory, name: "spawn-fcgi", environment: [
            "SOCKET": socket, "PROGRAM": TestEnvironment.executable("demo"), "SESSIONS": directory.file("sessions"),
            "SOCKET_MODE": "0666",
        ])
        #expect(waitUntil { spawned.errorOutput.contains("listening on inherited socket 0") }, "\(spawned.errorOutput)")
        let nginx = try Nginx(upstream: "unix:\(socket)", in: directory)
        // The script runs the demo with its production defaults: the session cookie is Secure.
        #expect(try nginx.request("/").header("Set-Cookie")?.contains("; Secure") == true)
        try sessionRoundTrip(port: nginx.port)
        #expect(spawned.isRunning)
    }

    /// The value of a unit file's `name=` line.
    func setting(_ name: String, in unit: String) throws -> String {
        try #require(unit.split(separator: "\n").first { $0.hasPrefix(name + "=") }).dropFirst(name.count + 1).description
    }

    /// systemd's own check of unit files, written into `directory` under their names.
    func verifyUnits(_ units: [(name: String, text: String)], in directory: TemporaryDirectory) throws {
        for unit in units { try unit.text.write(toFile: directory.file(unit.name), atomically: false, encoding: .utf8) }
        let verify = try ChildProcess("/usr/bin/systemd-analyze", ["verify"] + units.map { directory.file($0.name) },
                                      in: directory, name: "verify")
        #expect(verify.waitForExit() == 0)
        #expect(verify.errorOutput.isEmpty, "\(verify.errorOutput)")
    }

    @Test func systemdUnitsUnderSocketActivation() throws {
        let directory = try TemporaryDirectory()
        let units = TestEnvironment.packageRoot.appendingPathComponent("deploy/systemd")
        let socketUnit = try String(contentsOf: units.appendingPathComponent("obsession.socket"), encoding: .utf8)
        let serviceUnit = try String(contentsOf: units.appendingPathComponent("obsession.service"), encoding: .utf8)
        #expect(try setting("ListenStream", in: socketUnit) == "/run/obsession/app.sock")
        #expect(try setting("StateDirectory", in: serviceUnit) == "obsession")
        // With the program where this build put it.
        try verifyUnits([("obsession.socket", socketUnit),
                         ("obsession.service", serviceUnit.replacingOccurrences(of: "/usr/local/bin/demo", with: TestEnvironment.executable("demo")))],
                        in: directory)
        // The service's own command line, with the paths a test may use.
        let socket = directory.file("app.sock")
        let state = directory.file("state")
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: false)
        let command = try setting("ExecStart", in: serviceUnit)
            .replacingOccurrences(of: "/usr/local/bin/demo", with: TestEnvironment.executable("demo"))
            .replacingOccurrences(of: "${STATE_DIRECTORY}", with: state)
            .split(separator: " ").map(String.init)
        let environment = serviceUnit.split(separator: "\n").filter { $0.hasPrefix("Environment=") }
            .flatMap { ["-E", String($0.dropFirst("Environment=".count))] }
        #expect(environment == ["-E", "GLIBC_TUNABLES=glibc.malloc.tcache_count=64"])
        let activator = try ChildProcess("/usr/bin/systemd-socket-activate", ["-l", socket] + environment + command,
                                         in: directory, name: "activator")
        #expect(waitUntil { FileManager.default.fileExists(atPath: socket) })
        let nginx = try Nginx(upstream: "unix:\(socket)", in: directory)
        try sessionRoundTrip(port: nginx.port)
        #expect(waitUntil(seconds: 5) { activator.errorOutput.contains("listening on inherited socket 3") })
        // The activator became the program: it runs with the unit's environment.
        let programEnvironment = try String(contentsOfFile: "/proc/\(activator.pid)/environ", encoding: .utf8)
        #expect(programEnvironment.split(separator: "\0").contains("GLIBC_TUNABLES=glibc.malloc.tcache_count=64"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: state) == ["sessions"])
        activator.signal(SIGTERM)
        #expect(activator.waitForExit(seconds: 15) == 0)
    }

    /// The timer's service, run as the timer would, on sessions that classic CGI requests made
    /// through the deploy script: the expired ones go, the live one stays and still answers.
    @Test func systemdTimerCollectsTheSessionsOfClassicCGI() throws {
        let directory = try TemporaryDirectory()
        let script = try installCGIScript(in: directory)
        let sessions = directory.file("state/sessions")
        func cgi(_ method: String, _ path: String, query: String = "", cookie: String? = nil) throws -> String {
            var environment = ["GATEWAY_INTERFACE": "CGI/1.1", "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1",
                               "REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query, "CONTENT_LENGTH": "0"]
            environment["HTTP_COOKIE"] = cookie
            let request = try ChildProcess(script, [], in: directory, name: "cgi", environment: environment, replaceEnvironment: true)
            #expect(request.waitForExit() == 0, "\(request.errorOutput)")
            return request.output
        }
        let cookies = try (0..<3).map { _ in
            let answer = try cgi("POST", "/incr", query: "key=n")
            let line = try #require(answer.split(separator: "\r\n").first { $0.hasPrefix("Set-Cookie: _obs=") }, "\(answer)")
            return String(line.dropFirst("Set-Cookie: ".count).prefix { $0 != ";" })
        }
        let names = cookies.map { "s_" + $0.dropFirst("_obs=".count) }
        #expect(try Set(FileManager.default.contentsOfDirectory(atPath: sessions)) == Set(names))
        // Two of them last used 25 minutes ago, past the program's default idle timeout of 24.
        for name in names.dropFirst() {
            try setModificationTime(of: sessions + "/" + name, to: Int(Date().timeIntervalSince1970) - 1500)
        }

        let service = try DeployFile.read("systemd/obsession-gc.service", replacing: [
            ("/usr/local/bin/obsession", TestEnvironment.executable("obsession")), ("/var/lib/obsession/sessions", sessions),
        ])
        try verifyUnits([("obsession-gc.timer", try DeployFile.read("systemd/obsession-gc.timer", replacing: [])),
                         ("obsession-gc.service", service)], in: directory)
        // The service's command line as systemd would run it (here as the test's user, who owns the files).
        let command = try setting("ExecStart", in: service).split(separator: " ").map(String.init)
        let collection = try ChildProcess(command[0], Array(command.dropFirst()), in: directory, name: "gc")
        #expect(collection.waitForExit() == 0, "\(collection.errorOutput)")
        #expect(collection.output.hasPrefix("removed 2 files in "), "\(collection.output)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: sessions) == [names[0]])
        #expect(try cgi("GET", "/session.json", cookie: cookies[0]).hasSuffix("\r\n\r\n{\"n\":1}\n"))
    }

    @Test func apacheThroughModProxyFcgi() throws {
        let directory = try TemporaryDirectory()
        chmod(directory.path, 0o755)  // Apache's workers run as daemon: let them reach the socket
        let socket = directory.file("app.sock")
        let demo = try startDemo(socket, in: directory)
        let snippet = try DeployFile.read("apache/obsession-proxy-fcgi.conf", replacing: [("/run/obsession/app.sock", socket)])
        let apache = try Apache(modules: ["proxy", "proxy_fcgi"], body: snippet, in: directory)
        try sessionRoundTrip(port: apache.port)
        #expect(demo.isRunning)
    }

    /// deploy/cgi/obsession.cgi installed in `directory`, its sessions in a directory any user
    /// may create entries in (the CGI user makes its own 0700 one there).
    func installCGIScript(in directory: TemporaryDirectory) throws -> String {
        let state = directory.file("state")
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: false)
        chmod(state, 0o1777)
        let script = directory.file("obsession.cgi")
        let text = try DeployFile.read("cgi/obsession.cgi", replacing: [
            ("/usr/local/bin/demo", TestEnvironment.executable("demo")), ("/var/lib/obsession/sessions", state + "/sessions"),
        ])
        // Written through a close-on-exec descriptor: Foundation's write opens without it, so a
        // server another test starts meanwhile would keep the script open for writing, and
        // executing it would fail with ETXTBSY (fcgiwrap's "502 Bad Gateway", seen once in CI).
        let descriptor = open(script, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o755)
        guard descriptor >= 0 else { throw TestFailure("cannot write \(script)") }
        defer { close(descriptor) }
        let bytes = Array(text.utf8)
        guard write(descriptor, bytes, bytes.count) == bytes.count else { throw TestFailure("cannot write \(script)") }
        fchmod(descriptor, 0o755)  // whatever the umask: Apache's daemon user runs it
        return script
    }

    @Test func apacheRunningItAsACGIScript() throws {
        let directory = try TemporaryDirectory()
        chmod(directory.path, 0o755)
        let script = try installCGIScript(in: directory)
        let snippet = try DeployFile.read("apache/obsession-cgi.conf", replacing: [("/usr/lib/cgi-bin/obsession.cgi", script)])
        let apache = try Apache(modules: ["alias", "cgid"], body: snippet,
                                in: directory)
        try sessionRoundTrip(port: apache.port)
    }

    @Test func nginxRunningItAsACGIScriptThroughFcgiwrap() throws {
        let directory = try TemporaryDirectory()
        let script = try installCGIScript(in: directory)
        let socket = directory.file("fcgiwrap.sock")
        let fcgiwrap = try ChildProcess("/usr/sbin/fcgiwrap", ["-s", "unix:\(socket)"], in: directory, name: "fcgiwrap")
        defer { fcgiwrap.signal(SIGTERM) }
        #expect(waitUntil { FileManager.default.fileExists(atPath: socket) })
        let snippet = try DeployFile.read("nginx/obsession-fcgiwrap.conf", replacing: [
            ("include fastcgi_params;", "include /etc/nginx/fastcgi_params;"), ("/usr/lib/cgi-bin/obsession.cgi", script),
            ("/run/fcgiwrap.socket", socket),
        ])
        let nginx = try Nginx(locations: snippet, in: directory)
        try sessionRoundTrip(port: nginx.port)
    }

    @Test func apacheStartingItThroughModFcgid() throws {
        let directory = try TemporaryDirectory()
        chmod(directory.path, 0o755)
        let script = try installCGIScript(in: directory)
        let snippet = try DeployFile.read("apache/obsession-fcgid.conf", replacing: [("/usr/lib/cgi-bin/obsession.cgi", script)])
        let apache = try Apache(modules: ["alias", "fcgid"], body: """
            FcgidIPCDir \(directory.file("fcgid"))
            FcgidProcessTableFile \(directory.file("fcgid.shm"))
            \(snippet)
            """, in: directory)
        try sessionRoundTrip(port: apache.port)
        // Served by a long-lived FastCGI process, not a CGI process per request.
        #expect(waitUntil(seconds: 5) { apache.errorLog.contains("listening on inherited socket 0") }, "\(apache.errorLog)")
    }
}
