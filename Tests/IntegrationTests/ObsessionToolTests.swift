import Foundation
import TestSupport
import Testing

/// `obsession list|show|rm|logout-user|gc|stats|doctor` against real stores the demo filled
/// through nginx, as an operator runs them.
@Suite(.serialized, .requires(RedisProcess.executable)) struct ObsessionToolTests {
    let directory: TemporaryDirectory
    init() throws { directory = try TemporaryDirectory() }

    /// Runs `obsession ARGUMENTS`: its exit status and output.
    func obsession(_ arguments: String...) throws -> (status: Int32, output: String, errors: String) {
        let child = try ChildProcess(TestEnvironment.executable("obsession"), arguments, in: directory, name: "obsession")
        let status = child.waitForExit(seconds: 30)
        return (status ?? -1, child.output, child.errorOutput)
    }

    func json(_ text: String) throws -> Any { try JSONSerialization.jsonObject(with: Data(text.utf8)) }

    @Test func everySubcommandOnTheFileStoreAsTheDemoFilledIt() throws {
        let demo = try DemoServer(in: directory)
        let store = "--store=file:" + demo.sessions
        let ann = try (0..<3).map { _ in try demo.logIn("ann").cookie }
        let bob = try demo.logIn("bob").cookie
        _ = try demo.request("/")   // an anonymous visitor

        let listed = try obsession("list", store, "--json")
        #expect(listed.status == 0)
        let rows = try #require(try json(listed.output) as? [[String: Any]])
        #expect(rows.count == 5, "3 of ann, 1 of bob, 1 anonymous; the ids cycled away are no sessions: \(listed.output)")
        #expect(rows.compactMap { $0["user"] as? String }.sorted() == ["ann", "ann", "ann", "bob"])
        #expect(!listed.output.contains(String(ann[0].dropFirst(5))), "a listing shows tags, never ids")
        let table = try obsession("list", store)
        #expect(table.output.hasPrefix("TAG       USER"))
        #expect(table.output.split(separator: "\n").count == 6)

        let bobTag = try #require(rows.first { $0["user"] as? String == "bob" }?["tag"] as? String)
        let shown = try obsession("show", bobTag, store)
        #expect(shown.status == 0)
        #expect(shown.output.contains("user:      bob\n") && shown.output.contains("  _user: \"bob\"\n"), "\(shown.output)")
        let shownJSON = try #require(try json(try obsession("show", String(bob.dropFirst(5)), store, "--json").output) as? [String: Any])
        #expect((shownJSON["values"] as? [String: Any])?["_user"] as? String == "bob")
        #expect(try obsession("show", "0123abcd", store).status == 1)

        let stats = try #require(try json(try obsession("stats", store, "--json").output) as? [String: Int])
        #expect(stats["sessions"] == 5 && stats["logged_in"] == 4 && stats["users"] == 2, "\(stats)")
        #expect(try obsession("stats", store).output.contains("sessions: 5\n"))

        let loggedOut = try obsession("logout-user", "ann", store)
        #expect(loggedOut.status == 0 && loggedOut.output == "ended 3 sessions of ann\n", "\(loggedOut)")
        for cookie in ann { #expect(try demo.request("/session.json", cookie: cookie).text == "{}\n") }
        #expect(try obsession("logout-user", "ann", store).status == 1)

        #expect(try obsession("rm", bobTag, store).status == 0)
        #expect(try demo.request("/session.json", cookie: bob).text == "{}\n")
        #expect(try obsession("rm", bobTag, store).status == 1)

        usleep(1_100_000)   // the anonymous visitor's session, a second idle: expired with --idle-timeout 0
        let collected = try obsession("gc", store, "--idle-timeout", "0")
        #expect(collected.status == 0 && collected.output.hasPrefix("removed "), "\(collected)")
        #expect(try obsession("list", store, "--json").output == "[]\n")
        #expect(try obsession("doctor", store).output == "no problems found in file:\(demo.sessions)\n")
    }

    @Test func doctorFindsAFileStoreBrokenEachWayItChecks() throws {
        let sessions = directory.file("sessions")
        let store = "--store=file:" + sessions
        let demo = try DemoServer(in: directory)
        _ = try demo.logIn("ann")
        #expect(try obsession("doctor", store).status == 0)
        // The demo would collect the sessions aged below itself, between requests.
        demo.child.signal(SIGTERM)
        #expect(demo.child.waitForExit() == 0)

        chmod(sessions, 0o755)
        let id = String(repeating: "A", count: 40)
        FileManager.default.createFile(atPath: sessions + "/s_\(id).tmp.x", contents: Data("cut".utf8))
        FileManager.default.createFile(atPath: sessions + "/s_\(id).lock", contents: nil)
        let old = Date(timeIntervalSinceNow: -7200)
        try FileManager.default.setAttributes([.modificationDate: old], ofItemAtPath: sessions + "/s_\(id).tmp.x")
        for name in demo.sessionFiles where !name.contains(".tmp.") && !name.hasSuffix(".lock") {
            try FileManager.default.setAttributes([.modificationDate: old], ofItemAtPath: sessions + "/" + name)
        }
        try FileManager.default.createDirectory(atPath: sessions + "/B", withIntermediateDirectories: false)
        FileManager.default.createFile(atPath: sessions + "/B/s_B" + String(repeating: "b", count: 39), contents: Data("x".utf8))

        let found = try obsession("doctor", store, "--json")
        #expect(found.status == 1)
        let problems = try #require(try json(found.output) as? [[String: String]]).map { $0["problem"] ?? "" }
        #expect(problems.contains { $0.contains("has mode 755") })
        #expect(problems.contains { $0.contains("1 temporary files over an hour old") })
        #expect(problems.contains { $0.contains("1 lock files whose session is gone") })
        #expect(problems.contains { $0.contains("sessions idle for over 1440 s are not collected yet") })
        #expect(problems.contains { $0.contains("1 session files are laid out with fan-out 1, not 0") }, "\(problems)")
        let text = try obsession("doctor", store).output
        #expect(text.contains("    fix: run obsession gc"))

        chown(sessions, 65534, 65534)
        #expect(try obsession("doctor", store).output.contains("belongs to uid 65534"))
    }

    @Test func doctorFindsAFullFileSystem() throws {
        let filesystem = try ScratchFilesystem(kilobytes: 256)
        let store = "--store=file:" + filesystem.path + "/sessions"
        mkdir(filesystem.path + "/sessions", 0o700)
        #expect(try obsession("doctor", store).status == 0)
        filesystem.fill()
        let found = try obsession("doctor", store)
        #expect(found.status == 1)
        #expect(found.output.contains("is over 90 % full"), "\(found.output)")
    }

    @Test func doctorFindsAFileSystemOutOfInodes() throws {
        let filesystem = try ScratchFilesystem(kilobytes: 1024, inodes: 40)
        let store = "--store=file:" + filesystem.path + "/sessions"
        mkdir(filesystem.path + "/sessions", 0o700)
        #expect(try obsession("doctor", store).status == 0)
        for index in 0..<40 { FileManager.default.createFile(atPath: filesystem.path + "/f\(index)", contents: nil) }
        let found = try obsession("doctor", store)
        #expect(found.status == 1)
        #expect(found.output.contains("under 10 % of its inodes left"), "\(found.output)")
    }

    @Test func doctorFindsAStoreThatIsALink() throws {
        let real = directory.file("real")
        mkdir(real, 0o700)
        symlink(real, directory.file("sessions"))
        let found = try obsession("doctor", "--store=file:" + directory.file("sessions"))
        #expect(found.status == 1)
        #expect(found.output.contains("is not a directory (a symbolic link?)"), "\(found.output)")
    }

    @Test func theSubcommandsOnRedisAndItsDoctor() throws {
        let redis = try RedisProcess(in: directory, configuration: ["maxmemory-policy allkeys-lru",
                                                                    "user reader on >pw ~obsession:* -@all +hgetall +scan +ping +smembers"])
        let demo = try DemoServer(in: directory, arguments: ["--redis", redis.url()])
        let ann = try demo.logIn("ann").cookie
        _ = try demo.logIn("ann")
        let store = "--store=" + redis.url()
        let rows = try #require(try json(try obsession("list", store, "--json").output) as? [[String: Any]])
        #expect(rows.count == 2 && rows.allSatisfy { $0["user"] as? String == "ann" }, "\(rows)")
        #expect(try obsession("logout-user", "ann", store).output == "ended 2 sessions of ann\n")
        #expect(try demo.request("/session.json", cookie: ann).text == "{}\n")

        let found = try obsession("doctor", store)
        #expect(found.status == 1)
        #expect(found.output.contains("maxmemory-policy is allkeys-lru"))
        #expect(found.output.contains("persistence is off"))
        let reader = try obsession("doctor", "--store=" + redis.url(login: "reader:pw@"))
        #expect(reader.status == 1)
        #expect(reader.output.contains("this login may not read the server's configuration"), "\(reader.output)")
        _ = try redis.cli("CONFIG", "SET", "maxmemory-policy", "noeviction")
        _ = try redis.cli("CONFIG", "SET", "appendonly", "yes")
        #expect(try obsession("doctor", store).status == 0)
        redis.stop()
        let down = try obsession("doctor", store)
        #expect(down.status == 3)
        #expect(down.errors.contains("session store unavailable"), "\(down.errors)")
    }
}
