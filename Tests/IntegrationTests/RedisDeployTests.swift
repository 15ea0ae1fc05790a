import FastCGI
import Foundation
import TestSupport
import Testing

/// deploy/redis and the nginx upstream of several nodes, used as they are (only addresses,
/// ports and the password swapped), with a real redis-server, redis-sentinel, nginx and two
/// demo nodes on TCP.
@Suite(.serialized, .requires("/usr/sbin/nginx", RedisProcess.executable, RedisProcess.sentinelExecutable))
struct RedisDeployTests {
    let directory: TemporaryDirectory

    init() throws { directory = try TemporaryDirectory() }

    /// Two demo nodes on TCP with `arguments`, behind nginx configured by the deploy files.
    func nodes(_ arguments: [String]) throws -> (nodes: [ChildProcess], nginx: Nginx) {
        let ports = [try freePort(), try freePort()]
        let nodes = try ports.enumerated().map { index, port in
            try ChildProcess.demo(listening: "127.0.0.1:\(port)", sessions: directory.file("unused"),
                                  arguments: ["--cookie-secure", "off", "--workers", "4"] + arguments, in: directory, name: "node\(index)")
        }
        let upstream = try DeployFile.read("nginx/obsession-nodes.conf", replacing: [
            ("10.0.0.11:9000", "127.0.0.1:\(ports[0])"), ("10.0.0.12:9000", "127.0.0.1:\(ports[1])"),
        ])
        let location = try DeployFile.read("nginx/obsession.conf", replacing: [
            ("include fastcgi_params;", "include /etc/nginx/fastcgi_params;"), ("unix:/run/obsession/app.sock", "obsession_nodes"),
        ])
        return (nodes, try Nginx(locations: location, in: directory, http: upstream))
    }

    @Test func redisConfigWithItsACLUserServesTwoNodes() throws {
        let fragment = try DeployFile.read("redis/redis-sessions.conf", replacing: [
            ("CHANGE-THIS-PASSWORD", "s3cret"), ("bind 127.0.0.1 -::1", "bind 127.0.0.1"),
        ])
        try fragment.write(toFile: directory.file("redis-sessions.conf"), atomically: false, encoding: .utf8)
        let redis = try RedisProcess(in: directory, configuration: ["include \(directory.file("redis-sessions.conf"))"])
        #expect(try redis.cli("CONFIG", "GET", "maxmemory-policy").contains("noeviction"))
        #expect(try redis.cli("CONFIG", "GET", "appendonly").contains("yes"))
        let (nodes, nginx) = try nodes(["--redis", redis.url(login: "obsession:s3cret@")])
        let home = try HTTPClient.request(port: nginx.port, method: "GET", path: "/")
        let token = try #require(home.csrfToken)
        let login = try HTTPClient.request(port: nginx.port, "/login", method: "POST", cookie: home.sessionCookie, form: "user=ann&csrf=\(token)")
        let cookie = try #require(login.sessionCookie)
        for _ in 0..<4 {
            #expect(try HTTPClient.request(port: nginx.port, method: "GET", path: "/", headers: [("Cookie", cookie)]).text.contains("ann"))
        }
        let page = try HTTPClient.request(port: nginx.port, method: "GET", path: "/", headers: [("Cookie", cookie)])
        let logout = try HTTPClient.request(port: nginx.port, "/logout", method: "POST", cookie: cookie, form: "csrf=\(try #require(page.csrfToken))")
        #expect(logout.status == 303)
        // Only the id cycled away at the login is left: its forward, for the rest of the grace period.
        #expect(try redis.cli("DBSIZE") == "1")
        let forward = try redis.cli("KEYS", "*")
        #expect(forward == "obsession:{\(home.sessionCookie?.dropFirst(5) ?? "")}")
        #expect((Int(try redis.cli("TTL", forward)) ?? 99) <= 30)
        // The store's user can do what the store does, and nothing else.
        let refused = try redis.cli(["--user", "obsession", "--pass", "s3cret", "--no-auth-warning", "FLUSHALL"])
        #expect(refused.contains("NOPERM"), "\(refused)")
        let foreign = try redis.cli(["--user", "obsession", "--pass", "s3cret", "--no-auth-warning", "GET", "other:key"])
        #expect(foreign.contains("NOPERM"), "\(foreign)")
        for node in nodes { #expect(node.isRunning) }
    }

    /// A master, two replicas and three sentinels from deploy/redis/sentinel.conf; the master is
    /// killed under load. With `--redis-replicas 1`, every save acknowledged was on a replica: none
    /// is lost, and service resumes once the sentinels promote one (down-after 1 s here).
    @Test func sentinelFailoverUnderLoadLosesNoAcknowledgedSession() throws {
        let master = try RedisProcess(in: directory, name: "master")
        let replicas = try (0..<2).map { try RedisProcess(in: directory, name: "replica\($0)", configuration: ["replicaof 127.0.0.1 \(master.port)"]) }
        #expect(waitUntil(seconds: 10) { (try? master.cli("INFO", "replication"))?.components(separatedBy: "state=online").count == 3 })
        let sentinels = try (0..<3).map { index in
            let text = try DeployFile.read("redis/sentinel.conf", replacing: [
                ("sentinel monitor sessions 127.0.0.1 6379 2", "sentinel monitor sessions 127.0.0.1 \(master.port) 2"),
                ("sentinel down-after-milliseconds sessions 5000", "sentinel down-after-milliseconds sessions 1000"),
                ("sentinel failover-timeout sessions 60000", "sentinel failover-timeout sessions 5000"),
                ("port 26379\n", ""), ("bind 127.0.0.1 -::1\n", ""),
            ])
            return try RedisProcess(in: directory, name: "sentinel\(index)", configuration: text.split(separator: "\n").map(String.init),
                                    sentinel: true)
        }
        // The sentinels find each other and the replicas through the master, within seconds:
        // until then none could win a vote.
        let ready = waitUntil(seconds: 20) {
            sentinels.allSatisfy { sentinel in
                let fields = ((try? sentinel.cli("SENTINEL", "master", "sessions")) ?? "").split(whereSeparator: \.isNewline)
                let value = { (name: String) in fields.firstIndex(of: Substring(name)).map { fields[$0 + 1] } }
                return value("num-other-sentinels") == "2" && value("num-slaves") == "2"
            }
        }
        #expect(ready, "the sentinels did not find each other and the replicas")
        let addresses = sentinels.map { "127.0.0.1:\($0.port)" }.joined(separator: ",")
        let (nodes, nginx) = try nodes(["--redis-sentinel", addresses, "--redis-master", "sessions", "--redis-replicas", "1"])
        let cookies = try (0..<20).map { _ in
            let response = try HTTPClient.request(port: nginx.port, method: "POST", path: "/incr?key=n")
            return try #require(response.sessionCookie, "\(response.status) \(nginx.errorLog)")
        }
        let acknowledged = Locked<[Int]>(Array(repeating: 1, count: cookies.count))
        let failed = Locked(0)
        let stop = StopFlag()
        let port = nginx.port
        let clients = (0..<4).map { client in
            Thread {
                var round = client
                while !stop.isStopped {
                    let index = round % cookies.count
                    let status = (try? HTTPClient.request(port: port, method: "POST", path: "/incr?key=n", headers: [("Cookie", cookies[index])]))?.status
                    if status == 200 { acknowledged.withLock { $0[index] += 1 } } else { failed.withLock { $0 += 1 } }
                    round += 4
                    if status != 200 { usleep(20_000) }
                }
            }
        }
        clients.forEach { $0.start() }
        usleep(300_000)
        master.kill()
        let killed = Date()
        let recovered = waitUntil(seconds: 15) {
            (try? HTTPClient.request(port: port, method: "POST", path: "/incr?key=probe", headers: [("Cookie", cookies[0])]))?.status == 200
        }
        let downtime = Date().timeIntervalSince(killed)
        usleep(500_000)
        stop.stop()
        while clients.contains(where: { !$0.isFinished }) { usleep(10_000) }
        print("sentinel failover under load: \(failed.withLock { $0 }) requests failed, service back after \(String(format: "%.1f", downtime)) s")
        #expect(recovered, "\(sentinels[0].log)\n\(nginx.errorLog.suffix(1500))")
        // down-after 1 s, the sentinels' vote and the promotion, then at most a second more.
        #expect(downtime < 1 + 4 + 1, "service back after \(downtime) s")
        let counted = acknowledged.withLock { $0 }
        for (index, cookie) in cookies.enumerated() {
            let json = try HTTPClient.request(port: port, method: "GET", path: "/session.json", headers: [("Cookie", cookie)]).text
            let stored = Int(json.split(separator: "\"n\":").last?.prefix { $0.isNumber } ?? "") ?? 0
            let expected = counted[index]
            #expect(stored >= expected && stored <= expected + 4, "session \(index): \(stored) stored, \(expected) acknowledged")
        }
        withExtendedLifetime((replicas, sentinels, nodes)) {}
    }
}
