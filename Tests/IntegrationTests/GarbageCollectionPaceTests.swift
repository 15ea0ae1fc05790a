import Foundation
import TestSupport
import Testing

/// Garbage collection under a flood of clients that never send their cookie back, each of
/// which makes a session: expired sessions must go as fast as new ones come.
@Suite(.serialized, .requires("/usr/sbin/nginx", "/usr/bin/wrk")) struct GarbageCollectionPaceTests {
    @Test func collectionKeepsPaceWithAFloodOfNewSessions() throws {
        let directory = try TemporaryDirectory()
        let demo = try DemoServer(in: directory, arguments: ["--idle-timeout", "1", "--cookie-secure", "off"])
        // wrk sends no cookie back: every request makes a session, idle from its first second.
        let wrk = try ChildProcess("/usr/bin/wrk", ["-t2", "-c8", "-d15s", "http://127.0.0.1:\(demo.nginx.port)/"],
                                   in: directory, name: "wrk")
        #expect(wrk.waitForExit(seconds: 30) == 0)
        let stored = demo.sessionFiles.count
        let created = wrk.output.split(separator: "\n").first { $0.contains("requests in") }
            .flatMap { Int($0.split(separator: " ").first ?? "") } ?? 0
        print("a flood of 15 s with an idle timeout of 1 s: \(created) sessions made, \(stored) left in the store")
        #expect(created > 5000)
        // Kept pace, about the last three seconds' sessions remain; not kept, nearly all.
        #expect(stored < created / 2, "\(stored) of \(created) sessions still stored")
    }
}
