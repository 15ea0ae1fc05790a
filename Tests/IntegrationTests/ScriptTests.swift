import Foundation
import TestSupport
import Testing

/// Single .swift files run as CGI scripts by `obsession script`, as `make install` sets it up,
/// behind Apache (mod_cgid), nginx with fcgiwrap, and lighttpd (mod_cgi), each through the
/// deploy file: compiled on the first request, from a private cache after.
@Suite(.serialized, .requires("/usr/sbin/apache2", "/usr/sbin/nginx", "/usr/sbin/fcgiwrap", "/usr/sbin/lighttpd",
                              TestEnvironment.installDirectory + "/bin/obsession"))
struct ScriptTests {
    /// The scripts' directory, `www/scripts`, readable by Apache's user, holding the examples;
    /// and the scripts' caches, private to the user each server runs them as (Apache's daemon,
    /// uid 1; root for the others), so that no test compiles into a cache another left.
    final class Site {
        let directory: TemporaryDirectory
        let scripts: String
        let daemonCache: String
        let rootCache: String
        /// PATH with the installed `obsession` first, for the servers' CGI programs.
        let path = TestEnvironment.installDirectory + "/bin:/usr/bin:/bin"

        init() throws {
            directory = try TemporaryDirectory()
            chmod(directory.path, 0o755)
            scripts = directory.file("www/scripts")
            try FileManager.default.createDirectory(atPath: scripts, withIntermediateDirectories: true)
            chmod(directory.file("www"), 0o755)
            chmod(scripts, 0o755)
            daemonCache = directory.file("daemon-cache")
            rootCache = directory.file("root-cache")
            for cache in [daemonCache, rootCache] {
                try FileManager.default.createDirectory(atPath: cache, withIntermediateDirectories: false)
                chmod(cache, 0o700)
            }
            chown(daemonCache, 1, 1)
            for name in ["counter", "form", "upload"] {
                try install(try String(contentsOf: TestEnvironment.packageRoot.appendingPathComponent("Examples/scripts/\(name).swift"),
                                       encoding: .utf8), as: "\(name).swift")
            }
        }

        /// Writes `text` as the executable script `name`, through a close-on-exec descriptor (a
        /// server started meanwhile must not keep it open for writing: exec would fail, busy).
        func install(_ text: String, as name: String) throws {
            let path = scripts + "/" + name
            let temporary = path + ".new"
            let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o755)
            guard descriptor >= 0 else { throw TestFailure("cannot write \(path)") }
            let bytes = Array(text.utf8)
            let written = write(descriptor, bytes, bytes.count)
            fchmod(descriptor, 0o755)
            close(descriptor)
            guard written == bytes.count, rename(temporary, path) == 0 else { throw TestFailure("cannot write \(path)") }
        }

        /// Apache through deploy/apache/obsession-scripts.conf, its scripts' cache `cache`.
        func apache(cache: String? = nil) throws -> Apache {
            let snippet = try DeployFile.read("apache/obsession-scripts.conf", replacing: [("/var/www/scripts", scripts)])
            return try Apache(modules: ["alias", "cgid", "env", "mime"], body: """
                TypesConfig /etc/mime.types
                SetEnv OBSESSION_CACHE \(cache ?? daemonCache)
                \(snippet)
                """, in: directory, environment: ["PATH": path])
        }
    }

    /// Counts, with the cookie it set, through a server on `port`; `prefix` is where the scripts are.
    func countsWithItsCookie(port: UInt16, prefix: String = "/scripts", file: String = "counter.swift") throws {
        let first = try HTTPClient.request(port: port, "\(prefix)/\(file)", cookie: nil)
        #expect(first.status == 200, "\(first.status) \(first.text)")
        #expect(first.text == "visits: 1\n")
        let cookie = try #require(first.sessionCookie)
        #expect(try HTTPClient.request(port: port, "\(prefix)/\(file)", cookie: cookie).text == "visits: 2\n")
    }

    /// The form example: a note saved only with the session's token.
    func keepsANoteWithItsToken(port: UInt16) throws {
        let page = try HTTPClient.request(port: port, "/scripts/form.swift", cookie: nil)
        let cookie = try #require(page.sessionCookie)
        let token = try #require(page.csrfToken)
        #expect(try HTTPClient.request(port: port, "/scripts/form.swift", method: "POST", cookie: cookie, form: "note=x&csrf=wrong").status == 403)
        let saved = try HTTPClient.request(port: port, "/scripts/form.swift", method: "POST", cookie: cookie, form: "note=tea&csrf=\(token)")
        #expect(saved.status == 303)
        #expect(try HTTPClient.request(port: port, "/scripts/form.swift", cookie: cookie).text.contains("<b id=note>tea</b>"))
    }

    /// The upload example: a 100 KB file, past the in-memory limit.
    func takesAnUpload(port: UInt16) throws {
        let page = try HTTPClient.request(port: port, "/scripts/upload.swift", cookie: nil)
        let cookie = try #require(page.sessionCookie)
        let token = try #require(page.csrfToken)
        let body = Array("--b\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n\(token)\r\n--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.bin\"\r\n\r\n".utf8)
            + [UInt8](repeating: 7, count: 100_000) + Array("\r\n--b--\r\n".utf8)
        let sent = try HTTPClient.request(port: port, method: "POST", path: "/scripts/upload.swift",
                                          headers: [("Cookie", cookie), ("Content-Type", "multipart/form-data; boundary=b")], body: body)
        #expect(sent.text == "a.bin: 100000 bytes; upload 1 of this session\n", "\(sent.status) \(sent.text)")
    }

    @Test func apacheRunsTheExampleScripts() throws {
        let site = try Site()
        let apache = try site.apache()
        try countsWithItsCookie(port: apache.port)
        try keepsANoteWithItsToken(port: apache.port)
        try takesAnUpload(port: apache.port)
    }

    @Test func nginxRunsTheExampleScriptsThroughFcgiwrap() throws {
        let site = try Site()
        let socket = site.directory.file("fcgiwrap.sock")
        let fcgiwrap = try ChildProcess("/usr/sbin/fcgiwrap", ["-s", "unix:\(socket)"], in: site.directory, name: "fcgiwrap",
                                        environment: ["PATH": site.path, "OBSESSION_CACHE": site.rootCache])
        defer { fcgiwrap.signal(SIGTERM) }
        #expect(waitUntilAccepting("unix:\(socket)"))
        let snippet = try DeployFile.read("nginx/obsession-scripts-fcgiwrap.conf", replacing: [
            ("include fastcgi_params;", "include /etc/nginx/fastcgi_params;"), ("root /var/www;", "root \(site.directory.file("www"));"),
            ("/run/fcgiwrap.socket", socket),
        ])
        let nginx = try Nginx(locations: snippet, in: site.directory)
        try countsWithItsCookie(port: nginx.port)
        try keepsANoteWithItsToken(port: nginx.port)
        try takesAnUpload(port: nginx.port)
    }

    @Test func lighttpdRunsTheExampleScripts() throws {
        let site = try Site()
        let snippet = try DeployFile.read("lighttpd/obsession-scripts.conf", replacing: [
            ("/var/www/scripts/", site.scripts + "/"), ("/usr/local/bin:", TestEnvironment.installDirectory + "/bin:"),
            ("\"PATH\" =>", "\"OBSESSION_CACHE\" => \"\(site.rootCache)\", \"PATH\" =>"),
        ])
        let lighttpd = try Lighttpd(including: snippet, in: site.directory)
        try countsWithItsCookie(port: lighttpd.port)
        try keepsANoteWithItsToken(port: lighttpd.port)
        try takesAnUpload(port: lighttpd.port)
    }

    @Test func anEditIsCompiledOnTheNextRequest() throws {
        let site = try Site()
        let apache = try site.apache()
        let text = try String(contentsOfFile: site.scripts + "/counter.swift", encoding: .utf8)
        #expect(try HTTPClient.request(port: apache.port, "/scripts/counter.swift", cookie: nil).text == "visits: 1\n")
        try site.install(text.replacingOccurrences(of: "\"visits: ", with: "\"count: "), as: "counter.swift")
        #expect(try HTTPClient.request(port: apache.port, "/scripts/counter.swift", cookie: nil).text == "count: 1\n")
    }

    @Test func aCompileErrorGives500WithTheMessageInTheErrorLogOnly() throws {
        let site = try Site()
        try site.install("#!/usr/bin/env -S obsession script\nimport Obsession\nserve { request, response, session in\n    try response.write(undefinedName)\n}\n",
                         as: "broken.swift")
        let apache = try site.apache()
        let response = try HTTPClient.request(port: apache.port, "/scripts/broken.swift", cookie: nil)
        #expect(response.status == 500)
        #expect(!response.text.contains("undefinedName"), "the compiler's messages are for the log, not the client")
        #expect(waitUntil(seconds: 5) { apache.errorLog.contains("cannot find 'undefinedName' in scope") }, "\(apache.errorLog)")
    }

    @Test func aCompileCutShortIsDoneAgainOnTheNextRun() throws {
        let site = try Site()
        let environment = ["PATH": site.path, "OBSESSION_CACHE": site.rootCache, "REQUEST_METHOD": "GET",
                           "GATEWAY_INTERFACE": "CGI/1.1", "SERVER_PROTOCOL": "HTTP/1.1"]
        let first = try ChildProcess(site.scripts + "/counter.swift", [], in: site.directory, name: "first", environment: environment)
        let compiling = waitUntil(seconds: 30) {
            ((try? FileManager.default.contentsOfDirectory(atPath: site.rootCache)) ?? []).contains { $0.contains(".messages.partial.") }
        }
        #expect(compiling)
        first.signal(SIGKILL)
        #expect(first.waitForExit() == 128 + SIGKILL)
        let second = try ChildProcess(site.scripts + "/counter.swift", [], in: site.directory, name: "second", environment: environment)
        #expect(second.waitForExit(seconds: 120) == 0, "\(second.errorOutput)")
        #expect(second.output.contains("visits: 1"), "\(second.output) \(second.errorOutput)")
    }

    @Test func twoFirstRequestsAtOnceCompileOnce() throws {
        let site = try Site()
        let apache = try site.apache()
        let port = apache.port
        let answers = Results()
        DispatchQueue.concurrentPerform(iterations: 2) { _ in
            answers.record((try? HTTPClient.request(port: port, "/scripts/counter.swift", cookie: nil))?.text == "visits: 1\n")
        }
        #expect(answers.good == 2)
        #expect(apache.errorLog.components(separatedBy: "obsession: compiled ").count - 1 == 1, "\(apache.errorLog)")
    }

    @Test(arguments: ["another user's", "open to others"])
    func aCacheThatIsNotPrivateIsRefused(kind: String) throws {
        let site = try Site()
        // Apache's CGI user is daemon (uid 1): root's cache, or daemon's open to everyone.
        let cache = kind == "open to others" ? site.daemonCache : site.rootCache
        if kind == "open to others" { chmod(cache, 0o755) }
        let apache = try site.apache(cache: cache)
        let response = try HTTPClient.request(port: apache.port, "/scripts/counter.swift", cookie: nil)
        #expect(response.status == 500)
        let reason = kind == "open to others" ? "may be entered by other users (chmod 700 it): refused" : "belongs to another user: refused"
        #expect(waitUntil(seconds: 5) { apache.errorLog.contains(reason) }, "\(apache.errorLog)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: cache).isEmpty, "nothing compiled into it")
    }

    @Test func theCacheIsInTheUsersHomeByDefault() throws {
        let site = try Site()
        let home = site.directory.file("home")
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: false)
        let run = try ChildProcess(site.scripts + "/counter.swift", [], in: site.directory, name: "counter",
                                   environment: ["PATH": site.path, "HOME": home, "REQUEST_METHOD": "GET",
                                                 "GATEWAY_INTERFACE": "CGI/1.1", "SERVER_PROTOCOL": "HTTP/1.1"],
                                   replaceEnvironment: true)
        #expect(run.waitForExit(seconds: 120) == 0, "\(run.errorOutput)")
        #expect(run.output.contains("visits: 1"), "\(run.output)")
        var status = stat()
        #expect(stat(home + "/.cache/obsession-scripts", &status) == 0 && status.st_mode & 0o777 == 0o700)
    }

    @Test func aProgramBuiltAheadOfTimeNeedsNoToolchain() throws {
        let site = try Site()
        let program = site.scripts + "/counter.cgi"
        let build = try ChildProcess(TestEnvironment.installDirectory + "/bin/obsession",
                                     ["build", site.scripts + "/counter.swift", "-o", program], in: site.directory,
                                     name: "build", environment: ["OBSESSION_CACHE": site.rootCache])
        #expect(build.waitForExit(seconds: 120) == 0, "\(build.errorOutput)")
        let readelf = try ChildProcess("/usr/bin/readelf", ["--dynamic", program], in: site.directory, name: "readelf")
        #expect(readelf.waitForExit() == 0)
        let needed = readelf.output
        #expect(needed.contains("libfcgi"), "\(needed)")
        #expect(!needed.contains("libswift") && !needed.contains("libstdc++") && !needed.contains("libdispatch"),
                "the Swift runtime and the C++ library linked in: \(needed)")
        let apache = try site.apache()
        try countsWithItsCookie(port: apache.port, file: "counter.cgi")
    }

    @Test func theSameScriptServesFastCGIWithListen() throws {
        let site = try Site()
        let socket = site.directory.file("counter.sock")
        let server = try ChildProcess(TestEnvironment.installDirectory + "/bin/obsession",
                                      ["script", site.scripts + "/counter.swift", "--listen", "unix:\(socket)", "--socket-mode", "666"],
                                      in: site.directory, name: "counter", environment: ["OBSESSION_CACHE": site.rootCache])
        defer { server.signal(SIGTERM) }
        #expect(waitUntilAccepting("unix:\(socket)", seconds: 60), "\(server.errorOutput)")
        let nginx = try Nginx(upstream: "unix:\(socket)", in: site.directory)
        try countsWithItsCookie(port: nginx.port, prefix: "")
        #expect(server.errorOutput.contains("counter.swift["), "its log lines carry the script's name: \(server.errorOutput)")
    }
}
