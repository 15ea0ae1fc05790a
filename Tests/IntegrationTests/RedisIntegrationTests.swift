import FastCGI
import Foundation
import TestSupport
import Testing

/// Sessions on a real redis-server shared by two demo processes behind one nginx upstream, as
/// two machines would share it: what one node stores the other sees, no concurrent update is
/// lost, and neither a node killed nor Redis stopped loses an acknowledged session.
@Suite(.serialized, .requires("/usr/sbin/nginx", RedisProcess.executable))
struct RedisIntegrationTests {
    let directory: TemporaryDirectory

    init() throws { directory = try TemporaryDirectory() }

    func demo(_ redis: RedisProcess, processes: Int = 2, _ arguments: [String] = []) throws -> DemoServer {
        try DemoServer(in: directory, arguments: ["--workers", "4", "--redis", redis.url()] + arguments, processes: processes)
    }

    /// POSTs /incr?key=`key` with `cookie`; the status, 0 when the request itself failed.
    static func increment(_ port: UInt16, cookie: String, key: String = "n") -> Int {
        (try? HTTPClient.request(port: port, method: "POST", path: "/incr?key=\(key)", headers: [("Cookie", cookie)]))?.status ?? 0
    }

    /// Increments each session of `cookies` in turn, from four clients, until `during` returns;
    /// how many increments of each were acknowledged (200), counting the first, and how many
    /// requests were not.
    func underLoad(_ port: UInt16, cookies: [String], during: () throws -> Void) rethrows -> (acknowledged: [Int], failed: Int) {
        let acknowledged = Locked<[Int]>(Array(repeating: 1, count: cookies.count))
        let failed = Locked(0)
        let stop = StopFlag()
        let clients = (0..<4).map { client in
            Thread {
                var round = client
                while !stop.isStopped {
                    let index = round % cookies.count
                    if Self.increment(port, cookie: cookies[index]) == 200 {
                        acknowledged.withLock { $0[index] += 1 }
                    } else {
                        failed.withLock { $0 += 1 }
                    }
                    round += 4
                }
            }
        }
        clients.forEach { $0.start() }
        defer {
            stop.stop()
            while clients.contains(where: { !$0.isFinished }) { usleep(10_000) }
        }
        try during()
        stop.stop()
        while clients.contains(where: { !$0.isFinished }) { usleep(10_000) }
        return (acknowledged.withLock { $0 }, failed.withLock { $0 })
    }

    /// Checks that each session holds at least what was acknowledged, and at most one more per
    /// client (a request applied whose answer was lost).
    func expectNothingLost(_ demo: DemoServer, cookies: [String], acknowledged: [Int]) throws {
        for (index, cookie) in cookies.enumerated() {
            let json = try demo.request("/session.json", cookie: cookie).text
            let stored = Int(json.split(separator: ":").last?.prefix { $0.isNumber } ?? "") ?? 0
            #expect(stored >= acknowledged[index] && stored <= acknowledged[index] + 4,
                    "session \(index): \(stored) stored, \(acknowledged[index]) acknowledged")
        }
    }

    @Test func loginOnOneNodeIsSeenByTheOther() throws {
        let redis = try RedisProcess(in: directory)
        let demo = try demo(redis)
        let (cookie, _) = try demo.logIn("ann")
        // nginx takes the two nodes in turn: ten requests reach both.
        for _ in 0..<10 { #expect(try demo.request("/", cookie: cookie).text.contains("<b id=user>ann</b>")) }
        // The session, the old id's forward for the grace period, and ann's index.
        #expect(try redis.cli("DBSIZE") == "3")
        #expect(try redis.cli("SCARD", "obsession:user:ann") == "1")
        #expect(demo.sessionFiles.isEmpty, "nothing is written to files")
    }

    @Test func distinctKeysChangedAtOnceOnTwoNodesAllSurvive() throws {
        let redis = try RedisProcess(in: directory)
        let demo = try demo(redis)
        let cookie = try #require(try demo.request("/incr?key=start", method: "POST").sessionCookie)
        let port = demo.nginx.port
        let good = Results()
        DispatchQueue.concurrentPerform(iterations: 100) { index in good.record(Self.increment(port, cookie: cookie, key: "k\(index)") == 200) }
        #expect(good.good == 100)
        let json = try demo.request("/session.json", cookie: cookie).text
        for index in 0..<100 { #expect(json.contains("\"k\(index)\":1"), "key k\(index) lost") }
        #expect(json.contains("\"start\":1"))
    }

    @Test func oneKeyIncrementedAtOnceUnderExclusiveLockingCountsExactly() throws {
        let redis = try RedisProcess(in: directory)
        let demo = try demo(redis, ["--locking", "exclusive"])
        let cookie = try #require(try demo.request("/incr?key=n", method: "POST").sessionCookie)
        let port = demo.nginx.port
        let good = Results()
        DispatchQueue.concurrentPerform(iterations: 200) { _ in good.record(Self.increment(port, cookie: cookie) == 200) }
        #expect(good.good == 200)
        #expect(try demo.request("/session.json", cookie: cookie).text.contains("\"n\":201"))
        #expect(try redis.cli("KEYS", "*:lock") == "", "every lock released")
    }

    /// One round trip to read and one to save per request: an HGETALL and an EVALSHA, counted by
    /// Redis itself.
    @Test func aRequestCostsOneRoundTripToReadAndOneToSave() throws {
        let redis = try RedisProcess(in: directory)
        let demo = try demo(redis, processes: 1)
        let cookie = try #require(try demo.request("/incr?key=n", method: "POST").sessionCookie)
        for _ in 0..<8 { _ = Self.increment(demo.nginx.port, cookie: cookie) }  // every worker's connection made, scripts loaded
        try redis.cli("CONFIG", "RESETSTAT")
        #expect(Self.increment(demo.nginx.port, cookie: cookie) == 200)
        let stats = try redis.cli("INFO", "commandstats").split(whereSeparator: \.isNewline).filter { $0.hasPrefix("cmdstat_") && !$0.contains("cmdstat_info") }
        let calls = Dictionary(uniqueKeysWithValues: stats.map { line in
            (String(line.dropFirst(8).prefix { $0 != ":" }), Int(line.split(separator: "calls=")[1].prefix { $0.isNumber }) ?? -1)
        })
        // Redis counts the commands a script calls too: those of the save script are not round trips.
        let roundTrips = calls.filter { !["hget", "hstrlen", "hset", "hdel", "pexpire", "config|resetstat"].contains($0.key) }
        #expect(roundTrips == ["hgetall": 1, "evalsha": 1], "\(calls)")
    }

    @Test func aNodeKilledUnderLoadLosesNoSession() throws {
        let redis = try RedisProcess(in: directory)
        let demo = try demo(redis)
        var cookies: [String] = []
        for _ in 0..<20 { cookies.append(try #require(try demo.request("/incr?key=n", method: "POST").sessionCookie)) }
        let (acknowledged, failed) = underLoad(demo.nginx.port, cookies: cookies) {
            usleep(300_000)
            demo.children[1].signal(SIGKILL)
            usleep(700_000)
        }
        print("a node killed under load: \(failed) of \(acknowledged.reduce(0, +) - cookies.count + failed) requests failed")
        #expect(acknowledged.reduce(0, +) > 40, "the load ran")
        // Only what the killed node held: the four clients' requests in flight on it, and those
        // nginx sent it before it saw it gone (it does not pass a POST on to the other node).
        #expect(failed <= 8, "\(failed) requests failed")
        try expectNothingLost(demo, cookies: cookies, acknowledged: acknowledged)
    }

    @Test func redisStoppedUnderLoadGives503AndRestartedServesAgainWithEveryAcknowledgedSession() throws {
        let redis = try RedisProcess(in: directory, configuration: ["appendonly yes", "appendfsync always"])
        let demo = try demo(redis)
        let port = demo.nginx.port
        var cookies: [String] = []
        for _ in 0..<20 { cookies.append(try #require(try demo.request("/incr?key=n", method: "POST").sessionCookie)) }
        var recovery = 0.0
        let (acknowledged, _) = try underLoad(port, cookies: cookies) {
            usleep(200_000)
            redis.kill()
            let down = try demo.request("/incr?key=n", method: "POST", cookie: cookies[0])
            #expect(down.status == 503)
            #expect(down.header("Retry-After") == "1")
            #expect(try demo.request("/nowhere").status == 404, "a request without the session is not affected")
            usleep(300_000)
            try redis.start()
            let back = Date()
            #expect(waitUntil(seconds: 2) { Self.increment(port, cookie: cookies[0]) == 200 })
            recovery = Date().timeIntervalSince(back)
            usleep(300_000)
        }
        print("redis killed and restarted under load: service back \(String(format: "%.2f", recovery)) s after the restart")
        #expect(demo.nginx.errorLog.contains("session store unavailable: redis at 127.0.0.1:\(redis.port)"))
        for child in demo.children { #expect(child.isRunning) }
        // cookies[0] also took the increments counted by the waits above.
        try expectNothingLost(demo, cookies: Array(cookies.dropFirst()), acknowledged: Array(acknowledged.dropFirst()))
    }

    @Test func idleSessionExpiresByItsTTLAndLeavesNoKey() throws {
        let redis = try RedisProcess(in: directory)
        let demo = try demo(redis, processes: 1, ["--idle-timeout", "1"])
        let cookie = try #require(try demo.request("/incr?key=n", method: "POST").sessionCookie)
        let key = "obsession:{\(cookie.dropFirst(5))}"
        let ttl = Int(try redis.cli("PTTL", key)) ?? -3
        #expect(ttl > 0 && ttl <= 1000)
        #expect(waitUntil(seconds: 3) { (try? redis.cli("EXISTS", key)) == "0" })
        #expect(try demo.request("/session.json", cookie: cookie).text == "{}\n")
    }

    @Test func absoluteTimeoutCapsTheTTLHoweverTheSessionIsUsed() throws {
        let redis = try RedisProcess(in: directory)
        let demo = try demo(redis, processes: 1, ["--idle-timeout", "60", "--absolute-timeout", "2"])
        let cookie = try #require(try demo.request("/incr?key=n", method: "POST").sessionCookie)
        let key = "obsession:{\(cookie.dropFirst(5))}"
        let gone = waitUntil(seconds: 4) {
            _ = Self.increment(demo.nginx.port, cookie: cookie)
            return (try? redis.cli("EXISTS", key)) == "0"
        }
        #expect(gone)
    }
}
