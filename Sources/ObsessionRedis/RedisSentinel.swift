import Obsession

/// Redis Sentinel: the sentinels to ask where the master of `master` is. The store asks them
/// when it first connects, and again after a connection is lost or the server it reached
/// answers READONLY (a failover made it a replica).
///
/// ```swift
/// let sentinel = try RedisSentinel(addresses: "10.0.0.7:26379,10.0.0.8:26379,10.0.0.9:26379", master: "sessions")
/// let backend = RedisBackend(try RedisServer(url: "redis://:secret@sessions/0"), sentinel: sentinel)
/// ```
public struct RedisSentinel: Sendable, Equatable {
    /// The sentinels, asked in turn until one answers.
    public var endpoints: [RedisServer.Endpoint]
    /// The name the sentinels monitor the master under (`sentinel monitor NAME …`).
    public var master: String

    /// Sentinels at `endpoints`, for the master named `master`.
    public init(_ endpoints: [RedisServer.Endpoint], master: String) {
        self.endpoints = endpoints
        self.master = master
    }

    /// Sentinels listed as `host:port,host:port` (the port defaulting to 26379).
    public init(addresses: String, master: String) throws(RedisURLError) {
        var endpoints: [RedisServer.Endpoint] = []
        for address in addresses.split(separator: ",") {
            endpoints.append(try RedisServer.Endpoint(hostAndPort: String(address), defaultPort: 26379))
        }
        guard !endpoints.isEmpty else { throw RedisURLError(addresses, "no sentinel named") }
        guard !master.isEmpty else { throw RedisURLError(addresses, "no master name for the sentinels") }
        self.init(endpoints, master: master)
    }

    /// Asks the sentinels in turn for the master's address.
    func findMaster(timeout: Double) throws -> RedisServer.Endpoint {
        var reasons: [String] = []
        for endpoint in endpoints {
            do {
                let connection = try RedisConnection(to: endpoint, timeout: timeout)
                let reply = try connection.command(["SENTINEL", "get-master-addr-by-name", master])
                guard case .array(let parts) = reply, parts.count == 2, let host = parts[0].text,
                      let port = parts[1].text.flatMap({ Int($0) }) else {
                    reasons.append("\(endpoint): no master named \(String(reflecting: master)) (\(reply))")
                    continue
                }
                return .tcp(host: host, port: port)
            } catch {
                reasons.append("\(error)")
            }
        }
        throw SessionError.unavailable("no sentinel told the master's address: " + reasons.joined(separator: "; "))
    }
}
