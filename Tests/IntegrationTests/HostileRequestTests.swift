import Foundation
import TestSupport
import Testing

/// Requests an attacker sends through nginx to take a worker's descriptors, memory or time: each
/// is refused with its status, and leaves nothing behind.
@Suite(.serialized, .requires("/usr/sbin/nginx")) struct HostileRequestTests {
    @Test func uploadsCutShortLeaveNoDescriptorAndNoTemporaryFile() throws {
        let directory = try TemporaryDirectory()
        let uploads = directory.file("uploads")
        try FileManager.default.createDirectory(atPath: uploads, withIntermediateDirectories: false)
        let demo = try DemoServer(in: directory, environment: ["TMPDIR": uploads])
        _ = try demo.request("/")
        let before = ProcessInspection.openDescriptors(of: demo.child.pid)
        // A file part past the in-memory limit (64 KiB), and no closing boundary.
        let body = Array("--cut\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.bin\"\r\n\r\n".utf8)
            + [UInt8](repeating: UInt8(ascii: "x"), count: 200_000)
        for _ in 0..<50 {
            let response = try demo.nginx.request("/login", method: "POST",
                                                  headers: [("Content-Type", "multipart/form-data; boundary=cut")], body: body)
            #expect(response.status == 400)
        }
        // No more than before: a descriptor of the request before may have been open then.
        #expect(ProcessInspection.openDescriptors(of: demo.child.pid) <= before)
        #expect(try FileManager.default.contentsOfDirectory(atPath: uploads).isEmpty)
    }

    @Test func formOfMillionsOfEmptyFieldsIsRefusedBeforeItBalloons() throws {
        let directory = try TemporaryDirectory()
        let demo = try DemoServer(in: directory)
        _ = try demo.request("/login", method: "POST", form: "user=a")
        let before = ProcessInspection.peakMemoryKiB(of: demo.child.pid)
        let body = Array(String(repeating: "a&", count: 3_000_000).utf8)
        let response = try demo.nginx.request("/login", method: "POST",
                                              headers: [("Content-Type", "application/x-www-form-urlencoded")], body: body)
        #expect(response.status == 413)
        let grown = ProcessInspection.peakMemoryKiB(of: demo.child.pid) - before
        // The 6 MB body itself, and not much more.
        #expect(grown < 24 << 10, "the worker's peak memory grew \(grown) KiB")
        #expect(waitUntil(seconds: 5) { demo.nginx.errorLog.contains("POST /login: the form has more than 1000 fields") })
    }

    @Test func formFieldLimitIsAFlagAndCountsMultipartPartsToo() throws {
        let directory = try TemporaryDirectory()
        let hello = try HelloServer(in: directory, extraArguments: ["--max-form-fields", "3"])
        let nginx = try Nginx(upstream: "unix:\(hello.socketPath)", in: directory)
        let urlencoded = [("Content-Type", "application/x-www-form-urlencoded")]
        #expect(try nginx.request("/", method: "POST", headers: urlencoded, body: Array("a=1&b=2&c=3".utf8)).status == 200)
        #expect(try nginx.request("/", method: "POST", headers: urlencoded, body: Array("a=1&b=2&c=3&d=4".utf8)).status == 413)
        let part = "--b\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\nv\r\n"
        let multipart = [("Content-Type", "multipart/form-data; boundary=b")]
        #expect(try nginx.request("/", method: "POST", headers: multipart,
                                  body: Array((String(repeating: part, count: 3) + "--b--\r\n").utf8)).status == 200)
        #expect(try nginx.request("/", method: "POST", headers: multipart,
                                  body: Array((String(repeating: part, count: 4) + "--b--\r\n").utf8)).status == 413)
    }

    @Test func largestBodyLimitServesASmallPost() throws {
        let directory = try TemporaryDirectory()
        let hello = try HelloServer(in: directory, extraArguments: ["--max-body", "\(Int.max)"])
        let nginx = try Nginx(upstream: "unix:\(hello.socketPath)", in: directory)
        let response = try nginx.request("/", method: "POST", headers: [("Content-Type", "application/x-www-form-urlencoded")],
                                         body: Array("a=1".utf8))
        #expect(response.status == 200)
        #expect(response.text.contains("field: a=1\n"))
        #expect(hello.child.isRunning)
    }

    @Test func bodyThatTricklesInIsCutOffAtTheRequestTimeout() throws {
        let directory = try TemporaryDirectory()
        let hello = try HelloServer(in: directory, workers: 1, extraArguments: ["--request-timeout", "2"])
        // nginx passes the body on as it arrives, so the worker sees the trickle.
        let nginx = try Nginx(upstream: "unix:\(hello.socketPath)", in: directory, extra: "fastcgi_request_buffering off;")
        let client = try HTTPClient.connect(port: nginx.port)
        defer { close(client) }
        try HTTPClient.sendAll(client, Array(("POST /slow HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
            + "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\n").utf8))
        let started = Date()
        // A byte every 0.3 s: each read well inside the read timeout (60 s), the whole far beyond.
        let trickle = Thread {
            for _ in 0..<40 {
                guard (try? HTTPClient.sendAll(client, [UInt8(ascii: "a")])) != nil else { return }
                usleep(300_000)
            }
        }
        trickle.start()
        // nginx answers at once, then reads the rest of the body before it closes.
        var head: [UInt8] = []
        var byte: UInt8 = 0
        while head.suffix(4) != [13, 10, 13, 10], recv(client, &byte, 1, 0) == 1 { head.append(byte) }
        let waited = Date().timeIntervalSince(started)
        #expect(String(decoding: head, as: UTF8.self).hasPrefix("HTTP/1.1 408 "))
        #expect(waited < 4, "\(waited) s")
        // The one worker is free again.
        #expect(try nginx.request("/after").status == 200)
        #expect(waitUntil(seconds: 5) { nginx.errorLog.contains("POST /slow: the request took longer than the request timeout of 2 s") })
    }
}
