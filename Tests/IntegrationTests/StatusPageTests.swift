import Foundation
import TestSupport
import Testing

/// The status page (`--status-path`, `--status-allow`) of the demo, through nginx as an operator
/// reads it, and straight over FastCGI as a web server passes a refused client's address.
@Suite(.serialized) struct StatusPageTests {
    @Test func statusPageCountsEveryProcessInEachFormat() throws {
        let directory = try TemporaryDirectory()
        let demo = try DemoServer(in: directory, arguments: ["--status-path", "/status", "--processes", "2", "--workers", "3"])
        for _ in 0..<20 { #expect(try demo.request("/session.json").status == 200) }
        // The counts are summed over both processes; a request is counted once its answer has
        // gone, so the last of the 20 may land a moment after its client read it.
        #expect(waitUntil {
            let json = (try? demo.request("/status?json").text) ?? ""
            return json.contains("\"processes\":2") && (try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
                .flatMap { $0["requests"] as? Int }.map { $0 >= 20 } == true
        })

        let text = try demo.request("/status")
        #expect(text.status == 200)
        #expect(text.header("Content-Type") == "text/plain; charset=utf-8")
        #expect(text.text.contains("workers: 6\n"))
        func number(_ name: String) -> Int? {
            text.text.split(separator: "\n").first { $0.hasPrefix(name + ": ") }.flatMap { Int($0.dropFirst(name.count + 2)) }
        }
        // At least the status request itself; one before it may not have let its worker go yet.
        let busy = try #require(number("busy workers"))
        #expect(busy >= 1 && busy + (number("idle workers") ?? -1) == 6, "\(text.text)")
        #expect(text.text.contains("restarts: 0\n"))
        #expect(text.text.contains("store: FileBackend\n"))
        #expect(text.text.contains("store healthy: 1\n"))
        let served = try #require(number("requests"))
        #expect(served >= 20)

        let json = try demo.request("/status?json")
        #expect(json.header("Content-Type") == "application/json")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.text.utf8)) as? [String: Any])
        #expect(object["processes"] as? Int == 2)
        #expect(object["workers"] as? Int == 6)
        #expect(object["store"] as? String == "FileBackend")
        // The text page's own request is counted once its answer has gone: maybe not yet.
        #expect((object["requests"] as? Int ?? 0) >= served)

        let metrics = try demo.request("/status?openmetrics")
        #expect(metrics.header("Content-Type")?.hasPrefix("application/openmetrics-text; version=1.0.0") == true)
        #expect(metrics.text.contains("# TYPE obsession_requests counter\n"))
        #expect(metrics.text.contains("\nobsession_processes 2\n"))
        #expect(metrics.text.contains("\nobsession_store_info{store=\"FileBackend\"} 1\n"))
        #expect(metrics.text.hasSuffix("# EOF\n"))
    }

    @Test(arguments: ["", "json", "openmetrics"])
    func aClientOutsideTheAllowedAddressesIsRefused(format: String) throws {
        let directory = try TemporaryDirectory()
        let demo = try DemoServer(in: directory, arguments: ["--status-path", "/status", "--status-allow", "10.0.0.0/8, ::1"])
        // nginx passes 127.0.0.1: not allowed here.
        let refused = try demo.request("/status" + (format.isEmpty ? "" : "?" + format))
        #expect(refused.status == 403)
        #expect(refused.text == "403 Forbidden: the status page is not open to 127.0.0.1\n")
        // A web server passing an address in the range.
        let client = try FastCGIClient(unixPath: directory.file("demo0.sock"))
        defer { client.close() }
        try client.send(FastCGIClient.begin(["REQUEST_METHOD": "GET", "REQUEST_URI": "/status?" + format, "SCRIPT_NAME": "/status",
                                             "QUERY_STRING": format, "REMOTE_ADDR": "10.9.8.7"]) + FastCGIClient.stdin([]))
        let answer = String(decoding: try client.readStdout(), as: UTF8.self)
        #expect(answer.hasPrefix("Status: 200") || !answer.hasPrefix("Status:"), "\(answer)")
        #expect(answer.contains("workers"))
        // Every other path is the application's.
        #expect(try demo.request("/session.json").status == 200)
    }

    @Test func aBadAllowListStopsTheProgramWithAClearMessage() throws {
        let directory = try TemporaryDirectory()
        let demo = try ChildProcess(TestEnvironment.executable("demo"),
                                    ["--listen", "unix:" + directory.file("d.sock"), "--status-path", "/status", "--status-allow", "10.0.0.0/33"],
                                    in: directory, name: "demo")
        #expect(demo.waitForExit() != 0)
        #expect(demo.errorOutput.contains("--status-allow: \"10.0.0.0/33\" is not an IPv4 or IPv6 address or range"), "\(demo.errorOutput)")
    }
}
