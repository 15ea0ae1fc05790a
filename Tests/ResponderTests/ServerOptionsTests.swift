@testable import FastCGI
import TestSupport
import Testing

@Suite struct ServerOptionsTests {
    @Test func listenAddressesParse() throws {
        #expect(try ListenAddress("unix:/tmp/a.sock") == .unix(path: "/tmp/a.sock"))
        #expect(try ListenAddress("127.0.0.1:9000") == .tcp(host: "127.0.0.1", port: 9000))
        #expect(try ListenAddress("localhost:80") == .tcp(host: "localhost", port: 80))
        #expect(try ListenAddress("[::1]:9000") == .tcp(host: "::1", port: 9000))
        #expect(ListenAddress.tcp(host: "::1", port: 9000).description == "[::1]:9000")
    }

    @Test(arguments: ["unix:", "9000", ":9000", "host:", "host:0", "host:70000", "[::1]9000", "[::1]:x", "::1:9000x"])
    func badListenAddressesAreRefused(text: String) {
        #expect(throws: ServerError.self) { try ListenAddress(text) }
    }

    @Test func flagsFillTheConfiguration() throws {
        let options = try ServerOptions(["--listen=unix:/tmp/s.sock", "--socket-mode", "600", "--workers", "8",
                                         "--max-body", "1000", "--read-timeout", "5", "--write-timeout", "7", "--trust-forwarded-proto", "--sessions", "/tmp/x"],
                                        programFlags: ["--sessions"])
        #expect(options.configuration.listen == .unix(path: "/tmp/s.sock", mode: 0o600))
        #expect(options.configuration.workers == 8)
        #expect(options.configuration.maxBodySize == 1000)
        #expect(options.configuration.readTimeout == 5)
        #expect(options.configuration.writeTimeout == 7)
        #expect(options.configuration.trustForwardedProto)
        #expect(options.programValues == ["--sessions": "/tmp/x"])
    }

    @Test(arguments: [["--workers", "0"], ["--workers"], ["--bogus", "1"], ["--socket-mode", "660"], ["--read-timeout", "-1"], ["--write-timeout", "86401"],
                      ["--listen", "unix:/x", "--socket-mode", "999"]])
    func badFlagsAreRefusedWithAMessage(arguments: [String]) {
        #expect { try ServerOptions(arguments) } throws: { error in
            guard let error = error as? ServerError else { return false }
            return error.code == .invalidArgument && !error.message.isEmpty
        }
    }
}
