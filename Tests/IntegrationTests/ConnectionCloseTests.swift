import Foundation
import TestSupport
import Testing

/// How a worker ends a FastCGI connection: at once when the web server has sent all it will,
/// else libfcgi's careful close, which waits for the web server to close first.
@Suite(.requires("/usr/sbin/nginx")) struct ConnectionCloseTests {
    static let get = FastCGIClient.begin(["REQUEST_METHOD": "GET", "PATH_INFO": "/"]) + FastCGIClient.stdin([])

    /// A GET, and a form POST whose body the handler reads up to its CONTENT_LENGTH.
    static let firstRequests = [
        get,
        FastCGIClient.begin(["REQUEST_METHOD": "POST", "PATH_INFO": "/", "CONTENT_LENGTH": "8",
                             "CONTENT_TYPE": "application/x-www-form-urlencoded"])
            + FastCGIClient.stdin(Array("user=ann".utf8)) + FastCGIClient.stdin([]),
    ]

    @Test(arguments: firstRequests)
    func aWorkerIsFreeAsSoonAsItHasAnswered(firstRequest: [UInt8]) throws {
        let directory = try TemporaryDirectory()
        let hello = try HelloServer(in: directory, workers: 1)
        // A web server that reads its answer and then keeps its end of the connection open.
        let first = try FastCGIClient(unixPath: hello.socketPath)
        defer { first.close() }
        try first.send(firstRequest)
        #expect(String(decoding: try first.readStdout(), as: UTF8.self).hasPrefix("Status: 200 OK"))
        // libfcgi's careful close would hold the one worker for 2 s, waiting for that close.
        let started = Date()
        let second = try FastCGIClient(unixPath: hello.socketPath)
        defer { second.close() }
        try second.send(Self.get)
        #expect(String(decoding: try second.readStdout(), as: UTF8.self).hasPrefix("Status: 200 OK"))
        #expect(Date().timeIntervalSince(started) < 1)
    }

    @Test func keptConnectionsStayOpenAcrossRequests() throws {
        let directory = try TemporaryDirectory()
        let hello = try HelloServer(in: directory, workers: 2)
        let nginx = try Nginx(upstream: "unix:\(hello.socketPath)", in: directory, keepAlive: 2)
        func openConnections() throws -> Int {
            try FileManager.default.contentsOfDirectory(atPath: "/proc/\(hello.child.pid)/fd").count {
                (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(hello.child.pid)/fd/\($0)"))?.hasPrefix("socket:") == true
            }
        }
        let before = try openConnections()
        for index in 0..<30 {
            #expect(try nginx.request("/?i=\(index)").text.contains("query: i=\(index)\n"))
        }
        // nginx keeps its connection: the worker did not close it after the answers.
        #expect(try openConnections() > before)
    }

    @Test func bytesAfterTheRequestGetTheCarefulCloseAndTheAnswerArrivesWhole() throws {
        let directory = try TemporaryDirectory()
        let port = try freePort()
        let hello = try ChildProcess(TestEnvironment.executable("hello"), ["--listen", "127.0.0.1:\(port)", "--workers", "1"],
                                     in: directory, name: "hello")
        #expect(waitUntilAccepting("127.0.0.1:\(port)"))
        // The request fills libfcgi's 8 KiB reads exactly, so the record sent after it stays
        // unread in the kernel; its answer, 8 KiB of echoed query, is still in flight to a client
        // with a small receive buffer when the worker closes. A close with bytes unread would make
        // TCP reset the connection, and the client lose the rest of the answer.
        let query = "a=" + String(repeating: "x", count: 8104 - 2)
        let request = FastCGIClient.begin(["REQUEST_METHOD": "GET", "PATH_INFO": "/", "QUERY_STRING": query]) + FastCGIClient.stdin([])
        #expect(request.count == 8192)
        for _ in 0..<5 {
            let client = try FastCGIClient(port: port, receiveBuffer: 2048)
            defer { client.close() }
            try client.send(request + FastCGIClient.record(2, []))
            usleep(100_000)
            let answer = String(decoding: try client.readStdout(), as: UTF8.self)
            #expect(answer.hasPrefix("Status: 200 OK"))
            #expect(answer.hasSuffix("query: \(query)\n"), "\(answer.count) bytes")
        }
    }
}
