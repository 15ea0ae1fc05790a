import Foundation
import TestSupport
import Testing

/// `--durability fsync` as the kernel sees it (strace on the demo): a change of a directory's
/// entries reaches the disk before the request that made it ends.
@Suite(.serialized, .requires("/usr/sbin/nginx", "/usr/bin/strace")) struct DurabilityTests {
    /// One system call strace saw: the thread, the call's name, its paths and whether it worked.
    struct Call {
        let thread: String
        let name: String
        let paths: [String]
        let succeeded: Bool
        /// Whether the call may create its file (O_CREAT).
        let creates: Bool

        init?(_ line: Substring) {
            // "1234  openat(AT_FDCWD</tmp>, "/a/b", O_RDONLY) = 5</a/b>"
            let words = line.split(separator: " ", maxSplits: 1)
            guard words.count == 2 else { return nil }
            let text = String(words[1].drop { $0 == " " })
            guard let open = text.firstIndex(of: "(") else { return nil }
            thread = String(words[0])
            name = String(text[..<open])
            // Quoted paths first, then the paths strace -y prints after descriptors: 5</a/b>.
            let quoted = text.split(separator: "\"").enumerated().filter { $0.offset % 2 == 1 }.map { String($0.element) }
            let described = text.components(separatedBy: "</").dropFirst().map { "/" + $0.prefix { $0 != ">" } }
            paths = quoted + described
            succeeded = !text.contains("= -1")
            creates = text.contains("O_CREAT")
        }

        /// The directory whose entries the call changed, if it changed one: a name made, linked,
        /// renamed or removed, or (for `openat` with O_CREAT) a file created under its final name.
        var changedDirectory: String? {
            guard succeeded, let target = paths.count > 1 && (name == "rename" || name == "link") ? paths[1] : paths.first else { return nil }
            let changes = ["unlink", "rename", "link", "mkdir"].contains(name)
                || (name == "openat" && creates && !target.contains(".tmp."))
            return changes ? String(target[..<(target.lastIndex(of: "/") ?? target.endIndex)]) : nil
        }
    }

    @Test func everyChangeOfASessionDirectoryIsSyncedBeforeTheRequestEnds() throws {
        let directory = try TemporaryDirectory()
        let socket = directory.file("demo.sock")
        let sessions = directory.file("sessions")
        let trace = directory.file("trace")
        let demo = try ChildProcess("/usr/bin/strace",
                                    ["-f", "-qq", "-y", "-o", trace, "-e", "trace=openat,unlink,rename,link,mkdir,fsync,accept4",
                                     TestEnvironment.executable("demo"), "--listen", "unix:\(socket)", "--socket-mode", "666",
                                     "--sessions", sessions, "--durability", "fsync", "--fan-out", "1", "--workers", "1"],
                                    in: directory, name: "demo")
        #expect(waitUntilAccepting("unix:\(socket)"), "\(demo.errorOutput)")
        let nginx = try Nginx(upstream: "unix:\(socket)", in: directory)
        let home = try nginx.request("/")
        let login = try nginx.request("/login", method: "POST", cookie: home.sessionCookie, form: "user=ann&csrf=\(home.csrfToken ?? "")")
        let cookie = try #require(login.sessionCookie)
        #expect(try nginx.request("/incr?key=" + String(repeating: "k", count: 5000), method: "POST", cookie: cookie).status == 200)
        let page = try nginx.request("/", cookie: cookie)
        #expect(try nginx.request("/logout", method: "POST", cookie: cookie, form: "csrf=\(page.csrfToken ?? "")").status == 303)
        // The demo is strace's child: stopping it ends the trace.
        let traced = try String(contentsOfFile: "/proc/\(demo.pid)/task/\(demo.pid)/children", encoding: .utf8)
        kill(try #require(Int32(traced.trimmingCharacters(in: .whitespaces))), SIGTERM)
        #expect(demo.waitForExit() == 0)
        let calls = try String(contentsOfFile: trace, encoding: .utf8).split(separator: "\n").compactMap(Call.init)
            .filter { $0.paths.first?.hasPrefix(sessions) == true || $0.name == "accept4" || $0.name == "fsync" }
        let changes = calls.enumerated().compactMap { index, call in call.changedDirectory.map { (index, call, $0) } }
        #expect(changes.filter { $0.1.name == "unlink" }.count >= 1, "the logout")
        #expect(changes.contains { $0.2.hasSuffix("/users") }, "the index of users' sessions, made at the login")
        #expect(changes.contains { $0.1.name == "rename" }, "the large record")
        #expect(changes.contains { $0.1.name == "mkdir" }, "the fan-out level")
        for (index, call, changed) in changes {
            // Up to the same thread's next accept: the request's end.
            let rest = calls[(index + 1)...].filter { $0.thread == call.thread }.prefix { $0.name != "accept4" }
            #expect(rest.contains { $0.name == "fsync" && $0.paths.first == changed },
                    "\(call.name) in \(changed) was not followed by an fsync of the directory")
        }
    }
}
