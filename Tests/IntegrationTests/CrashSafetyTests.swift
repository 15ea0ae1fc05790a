import Foundation
@testable import Obsession
import TestSupport
import Testing

/// kill -9 at random moments while requests write sessions: every session file left must be a
/// whole record holding a JSON object, never a torn one (or, for a new session cut short before
/// its first write, empty: it reads as missing).
@Suite(.serialized, .requires("/usr/sbin/nginx")) struct CrashSafetyTests {
    @Test func killedMidWriteLeavesNoTornSession() throws {
        let directory = try TemporaryDirectory()
        let socket = directory.file("demo.sock")
        let sessions = directory.file("sessions")
        let nginx = try Nginx(upstream: "unix:\(socket)", in: directory)
        let port = nginx.port
        var cookies: [String] = []
        var torn: [String] = []
        var rounds = 0
        var writes = 0
        var strays: Set<String> = []
        var unborn: Set<String> = []
        for round in 0..<200 {
            let demo = try ChildProcess.demo(listening: "unix:\(socket)", sessions: sessions, arguments: ["--workers", "4"],
                                             in: directory, name: "demo\(round % 2)")
            if cookies.isEmpty {
                for _ in 0..<4 {
                    cookies.append(try #require(try HTTPClient.request(port: port, method: "POST", path: "/incr?key=n").headers
                        .first { $0.name == "Set-Cookie" }.map { String($0.value.prefix { $0 != ";" }) }))
                }
            }
            let stop = StopFlag()
            let group = DispatchGroup()
            let known = cookies
            let written = Results()
            for writer in 0..<4 {
                group.enter()
                Thread.detachNewThread {
                    var generator = SystemRandomNumberGenerator()
                    while !stop.isStopped {
                        // Keys of random length: records grow, so writes cross block boundaries.
                        let key = String(repeating: "k", count: Int.random(in: 1...300, using: &generator))
                        let cookie = writer == 3 ? [] : [("Cookie", known[Int.random(in: 0..<known.count, using: &generator)])]
                        let response = try? HTTPClient.request(port: port, method: "POST", path: "/incr?key=\(key)", headers: cookie)
                        written.record(response?.status == 200)
                    }
                    group.leave()
                }
            }
            // Let some writes land before the kill, then kill at a random moment.
            _ = waitUntil(seconds: 5) { written.good >= 3 }
            usleep(UInt32.random(in: 5_000...40_000))
            demo.signal(SIGKILL)
            _ = demo.waitForExit()
            stop.stop()
            group.wait()
            writes += written.good
            for name in try FileManager.default.contentsOfDirectory(atPath: sessions) {
                // A replacement cut short leaves `s_<id>.tmp.<x>`: not a session, never read, and
                // collected as garbage; what matters is that `s_<id>` is whole.
                guard name.hasPrefix("s_"), SessionID(validating: String(name.dropFirst(2))) != nil else {
                    strays.insert(name)
                    continue
                }
                let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: "\(sessions)/\(name)")))
                // A new session's file made but not yet written: it reads as missing, and that
                // session never reached its client. Anything else must be a whole record.
                if bytes.isEmpty {
                    unborn.insert(name)
                    continue
                }
                guard let data = SessionRecord.decode(bytes)?.data else {
                    torn.append("\(name): not an intact record (\(bytes.count) bytes)")
                    continue
                }
                guard case .object = try? JSON.decode(data) else {
                    torn.append("\(name): not a JSON object: \(String(decoding: data.prefix(80), as: UTF8.self))")
                    continue
                }
            }
            if !torn.isEmpty { break }
            rounds += 1
        }
        #expect(torn.isEmpty, "torn or garbage session files: \(torn)")
        #expect(rounds == 200)
        #expect(writes >= 200 * 3, "writes that succeeded before the kills: \(writes)")
        #expect(strays.allSatisfy { $0.contains(".tmp.") }, "only replacements cut short: \(strays)")
        let files = try FileManager.default.contentsOfDirectory(atPath: sessions).count
        #expect(files > 4, "the writers made sessions: \(files)")
        #expect(unborn.count <= rounds, "new files left empty by a kill, at most one a kill: \(unborn.count) of \(files)")
    }
}
