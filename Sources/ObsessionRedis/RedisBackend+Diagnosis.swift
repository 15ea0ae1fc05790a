public import Obsession

extension RedisBackend {
    /// What `obsession doctor` checks in a Redis store: that the server answers, a
    /// `maxmemory-policy` that may evict sessions, and persistence switched off. Empty when all
    /// is well. Reading the configuration needs `CONFIG GET`, which the deploy file's
    /// least-privilege user may not run: that is a finding too, with what to do.
    ///
    /// ```swift
    /// let findings = try RedisBackend(try RedisServer(url: "redis://127.0.0.1:6379/0")).diagnose()
    /// ```
    public func diagnose() throws -> [StoreFinding] {
        let replies = try client.withConnection { connection in
            try connection.send([["PING"], ["CONFIG", "GET", "maxmemory-policy"], ["CONFIG", "GET", "appendonly"], ["CONFIG", "GET", "save"]])
        }
        guard replies[0].text == "PONG" else {
            return [StoreFinding(problem: "redis answered PING with \(replies[0])", advice: "check the login in the store's URL")]
        }
        func setting(_ reply: RedisReply) -> String? {
            if case .array(let pair) = reply, pair.count == 2 { pair[1].text } else { nil }
        }
        guard let policy = setting(replies[1]), let appendOnly = setting(replies[2]), let save = setting(replies[3]) else {
            return [StoreFinding(problem: "this login may not read the server's configuration (\(replies[1]))",
                                 advice: "run doctor with an administrator's login in --store to check eviction and persistence")]
        }
        var findings: [StoreFinding] = []
        if policy != "noeviction" {
            findings.append(StoreFinding(problem: "maxmemory-policy is \(policy): a full Redis evicts sessions, logging users out",
                                         advice: "set maxmemory-policy noeviction (deploy/redis/redis-sessions.conf), so a full server refuses writes instead"))
        }
        if appendOnly != "yes", save.isEmpty {
            findings.append(StoreFinding(problem: "persistence is off (appendonly no, no save points): a restart loses every session",
                                         advice: "set appendonly yes (deploy/redis/redis-sessions.conf)"))
        }
        return findings
    }
}
