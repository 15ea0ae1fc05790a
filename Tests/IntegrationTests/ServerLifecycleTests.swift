import Foundation
import TestSupport
import Testing

/// Where the server listens, how it stops, and how it fails to start: each through the built
/// `hello` and the real programs that start FastCGI servers.
@Suite(.serialized, .requires("/usr/bin/cgi-fcgi", "/usr/bin/systemd-socket-activate")) struct ServerLifecycleTests {
    @Test func sigtermLetsTheRequestInFlightFinishThenExitsZero() throws {
        let directory = try TemporaryDirectory()
        let hello = try HelloServer(in: directory)
        let client = try FastCGIClient(unixPath: hello.socketPath)
        defer { client.close() }
        try client.send(FastCGIClient.begin([
            "REQUEST_METHOD": "POST", "CONTENT_TYPE": "application/x-www-form-urlencoded", "CONTENT_LENGTH": "9",
        ]) + FastCGIClient.stdin(Array("a=1".utf8)))
        usleep(300_000)
        hello.child.signal(SIGTERM)
        usleep(300_000)
        #expect(hello.child.isRunning, "the server must wait for the request in flight")
        try client.send(FastCGIClient.stdin(Array("&b=22".utf8)) + FastCGIClient.stdin(Array("&".utf8)) + FastCGIClient.stdin([]))
        let output = String(decoding: try client.readStdout(), as: UTF8.self)
        #expect(output.hasPrefix("Status: 200 OK\r\n"))
        #expect(output.contains("field: a=1\nfield: b=22\n"))
        #expect(hello.child.waitForExit() == 0)
        #expect(!FileManager.default.fileExists(atPath: hello.socketPath))
        #expect(hello.child.errorOutput.contains("stopped"))
    }

    @Test func sigintStopsAnIdleServer() throws {
        let directory = try TemporaryDirectory()
        let hello = try HelloServer(in: directory, workers: 4)
        hello.child.signal(SIGINT)
        #expect(hello.child.waitForExit(seconds: 5) == 0)
    }

    @Test func sigtermStopsItEvenWhenTheParentLeftItBlocked() throws {
        let directory = try TemporaryDirectory()
        let hello = try HelloServer(in: directory, blockedSignals: [SIGTERM, SIGINT])
        hello.child.signal(SIGTERM)
        #expect(hello.child.waitForExit(seconds: 5) == 0)
    }

    @Test func takenPortEndsTheProgramWithAClearMessage() throws {
        let directory = try TemporaryDirectory()
        let port = try freePort()
        let blocker = try ChildProcess(TestEnvironment.executable("hello"), ["--listen", "127.0.0.1:\(port)"],
                                       in: directory, name: "first")
        #expect(waitUntil { blocker.errorOutput.contains("listening") })
        let second = try ChildProcess(TestEnvironment.executable("hello"), ["--listen", "127.0.0.1:\(port)"],
                                      in: directory, name: "second")
        #expect(second.waitForExit() == 1)
        #expect(second.errorOutput == "hello: cannot bind 127.0.0.1:\(port): address already in use\n")
    }

    @Test(arguments: [
        ("unix:/proc/obsession-test.sock", "cannot bind /proc/obsession-test.sock: "),
        ("unix:/nonexistent-dir/x.sock", "cannot bind /nonexistent-dir/x.sock: no such file or directory"),
        ("256.1.1.1:80", "cannot resolve 256.1.1.1:80"),
        ("nowhere", "cannot read --listen nowhere"),
    ])
    func unusableAddressEndsTheProgramWithAClearMessage(address: String, message: String) throws {
        let directory = try TemporaryDirectory()
        let child = try ChildProcess(TestEnvironment.executable("hello"), ["--listen", address], in: directory, name: "hello")
        #expect(child.waitForExit() == 1)
        #expect(child.errorOutput.hasPrefix("hello: " + message))
    }

    @Test func fileInTheWayOfTheSocketIsLeftAlone() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("data.sock")
        try "precious".write(toFile: path, atomically: false, encoding: .utf8)
        let child = try ChildProcess(TestEnvironment.executable("hello"), ["--listen", "unix:\(path)"], in: directory, name: "hello")
        #expect(child.waitForExit() == 1)
        #expect(child.errorOutput.contains("a file that is not a socket is in the way"))
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "precious")
    }

    @Test func staleSocketIsReplacedButALiveOneIsNot() throws {
        let directory = try TemporaryDirectory()
        let first = try HelloServer(in: directory)
        let rival = try ChildProcess(TestEnvironment.executable("hello"), ["--listen", "unix:\(first.socketPath)"],
                                     in: directory, name: "rival")
        #expect(rival.waitForExit() == 1)
        #expect(rival.errorOutput.contains("another server is listening there"))
        first.child.signal(SIGKILL)
        _ = first.child.waitForExit()
        #expect(FileManager.default.fileExists(atPath: first.socketPath), "SIGKILL leaves the socket file behind")
        let second = try HelloServer(in: directory)
        let nginx = try Nginx(upstream: "unix:\(second.socketPath)", in: directory)
        #expect(try nginx.request("/").status == 200)
    }

    @Test func socketModeIsApplied() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("private.sock")
        let child = try ChildProcess(TestEnvironment.executable("hello"), ["--listen", "unix:\(path)", "--socket-mode", "600"],
                                     in: directory, name: "hello")
        #expect(waitUntil { child.errorOutput.contains("listening") })
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
    }

    @Test(arguments: ["127.0.0.1", "[::1]"])
    func tcpListenerServesThroughNginx(host: String) throws {
        let directory = try TemporaryDirectory()
        let port = try freePort()
        let child = try ChildProcess(TestEnvironment.executable("hello"), ["--listen", "\(host):\(port)"], in: directory, name: "hello")
        #expect(waitUntil { child.errorOutput.contains("listening on \(host):\(port)") })
        let nginx = try Nginx(upstream: "\(host):\(port)", in: directory)
        #expect(try nginx.request("/tcp?v=\(host)").text.contains("query: v=\(host)\n"))
    }

    @Test func inheritedListeningSocketOnDescriptorZeroIsServed() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("inherited.sock")
        let listener = try unixListener(path)
        defer { close(listener) }
        let child = try ChildProcess(TestEnvironment.executable("hello"), [], in: directory, name: "hello",
                                     standardInput: listener)
        #expect(waitUntil { child.errorOutput.contains("listening on inherited socket 0") })
        let nginx = try Nginx(upstream: "unix:\(path)", in: directory)
        #expect(try nginx.request("/from-fd-0").text.contains("path: /from-fd-0\n"))
    }

    @Test func systemdSocketActivationIsServed() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("activated.sock")
        let activator = try ChildProcess("/usr/bin/systemd-socket-activate",
                                         ["-l", path, TestEnvironment.executable("hello")], in: directory, name: "activator")
        #expect(waitUntil { FileManager.default.fileExists(atPath: path) })
        let nginx = try Nginx(upstream: "unix:\(path)", in: directory)
        #expect(try nginx.request("/activated").text.contains("path: /activated\n"))
        #expect(waitUntil(seconds: 5) { activator.errorOutput.contains("listening on inherited socket 3") })
    }

    @Test func cgiFcgiTalksToTheSocket() throws {
        let directory = try TemporaryDirectory()
        let hello = try HelloServer(in: directory)
        let bodyPath = directory.file("body")
        try "x=42".write(toFile: bodyPath, atomically: false, encoding: .utf8)
        let client = try ChildProcess("/usr/bin/cgi-fcgi", ["-bind", "-connect", hello.socketPath], in: directory, name: "cgi-fcgi",
                                      environment: ["REQUEST_METHOD": "POST", "CONTENT_LENGTH": "4", "QUERY_STRING": "q=1",
                                                    "CONTENT_TYPE": "application/x-www-form-urlencoded", "PATH_INFO": "/via-cgi-fcgi"],
                                      replaceEnvironment: true, standardInput: open(bodyPath, O_RDONLY))
        #expect(client.waitForExit() == 0)
        #expect(client.output == "Status: 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nmethod: POST\npath: /via-cgi-fcgi\nquery: q=1\nfield: x=42\n")
    }

    @Test func classicCGIServesOneRequestFromTheEnvironment() throws {
        let directory = try TemporaryDirectory()
        let bodyPath = directory.file("body")
        try "user=ann&extra-bytes-beyond-content-length".write(toFile: bodyPath, atomically: false, encoding: .utf8)
        let child = try ChildProcess(TestEnvironment.executable("hello"), [], in: directory, name: "cgi",
                                     environment: ["GATEWAY_INTERFACE": "CGI/1.1", "REQUEST_METHOD": "POST",
                                                   "SCRIPT_NAME": "/cgi-bin/hello", "PATH_INFO": "/x", "QUERY_STRING": "a=b",
                                                   "HTTP_COOKIE": "k=v", "CONTENT_LENGTH": "8",
                                                   "CONTENT_TYPE": "application/x-www-form-urlencoded"],
                                     replaceEnvironment: true, standardInput: open(bodyPath, O_RDONLY))
        #expect(child.waitForExit() == 0)
        #expect(child.output == "Status: 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nmethod: POST\npath: /cgi-bin/hello/x\nquery: a=b\ncookie: k=v\nfield: user=ann\n")
    }

    @Test func classicCGIRefusesAnOversizedBody() throws {
        let directory = try TemporaryDirectory()
        let child = try ChildProcess(TestEnvironment.executable("hello"), ["--max-body", "10"], in: directory, name: "cgi",
                                     environment: ["REQUEST_METHOD": "POST", "CONTENT_LENGTH": "1000000"],
                                     replaceEnvironment: true)
        #expect(child.waitForExit() == 0)
        #expect(child.output.hasPrefix("Status: 413 Content Too Large\r\n"))
    }

    @Test func libraryDoesNotLinkFoundation() throws {
        let directory = try TemporaryDirectory()
        let ldd = try ChildProcess("/usr/bin/ldd", [TestEnvironment.executable("hello")], in: directory, name: "ldd")
        #expect(ldd.waitForExit() == 0)
        #expect(ldd.output.contains("libfcgi.so"))
        #expect(!ldd.output.contains("Foundation"))
    }

    private func unixListener(_ path: String) throws -> Int32 {
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        let ok = withUnixSocketAddress(path) { bind(descriptor, $0, $1) == 0 }
        guard ok, listen(descriptor, 64) == 0 else { throw POSIXError(.EADDRINUSE) }
        return descriptor
    }
}
