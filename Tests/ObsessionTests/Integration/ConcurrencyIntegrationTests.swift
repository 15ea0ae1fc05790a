import Foundation
import Testing

/// Many requests of one session at once, through nginx into one or two demo processes sharing a
/// session directory: no update may be lost.
@Suite(.serialized) struct ConcurrencyIntegrationTests {
    /// Sends `count` requests at once (up to 50 in flight), `path(index)` each, with `cookie`.
    func concurrently(_ count: Int, port: UInt16, cookie: String, path: @escaping @Sendable (Int) -> String) -> Int {
        let results = Results()
        DispatchQueue.concurrentPerform(iterations: count) { index in
            let response = try? HTTPClient.request(port: port, method: "POST", path: path(index), headers: [("Cookie", cookie)])
            results.record(response?.status == 200)
        }
        return results.good
    }

    @Test(arguments: [1, 2])
    func distinctKeysChangedAtOnceAllSurvive(processes: Int) throws {
        let directory = try TemporaryDirectory()
        let demo = try DemoServer(in: directory, arguments: ["--workers", "4"], processes: processes)
        let cookie = try #require(try demo.request("/incr?key=start", method: "POST").sessionCookie)
        #expect(concurrently(100, port: demo.nginx.port, cookie: cookie) { "/incr?key=k\($0)" } == 100)
        let json = try demo.request("/session.json", cookie: cookie).text
        for index in 0..<100 { #expect(json.contains("\"k\(index)\":1"), "key k\(index) lost") }
        #expect(json.contains("\"start\":1"))
    }

    @Test(arguments: [1, 2])
    func oneKeyIncrementedAtOnceUnderTheExclusiveLockCountsExactly(processes: Int) throws {
        let directory = try TemporaryDirectory()
        let demo = try DemoServer(in: directory, arguments: ["--workers", "4", "--locking", "exclusive"], processes: processes)
        let cookie = try #require(try demo.request("/incr?key=n", method: "POST").sessionCookie)
        #expect(concurrently(200, port: demo.nginx.port, cookie: cookie) { _ in "/incr?key=n" } == 200)
        #expect(try demo.request("/session.json", cookie: cookie).text == "{\"n\":201}\n")
    }
}
