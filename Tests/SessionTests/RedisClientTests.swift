import FastCGI
import Foundation
import Obsession
@testable import ObsessionRedis
import TestSupport
import Testing

/// A socket listening on a free loopback port, and the port.
private func listening() throws -> (Int32, UInt16) {
    let port = try freePort()
    let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard bound == 0, listen(listener, 4) == 0 else { close(listener); throw TestFailure("cannot listen on 127.0.0.1:\(port)") }
    return (listener, port)
}

/// The Redis store's client against what a server must not be trusted with: replies too large,
/// too long or malformed, from a fake server on loopback; and the addresses it accepts.
@Suite struct RedisClientTests {
    /// A server on a free loopback port that reads one command and answers `reply` to it (then
    /// `more` for as long as the client reads), and closes.
    final class FakeServer: @unchecked Sendable {
        let port: UInt16
        private let listener: Int32
        private var thread: Thread?

        init(reply: [UInt8], more: [UInt8] = []) throws {
            (listener, port) = try listening()
            let listener = listener
            thread = Thread {
                let client = accept(listener, nil, nil)
                guard client >= 0 else { return }
                defer { close(client) }
                var buffer = [UInt8](repeating: 0, count: 4096)
                _ = read(client, &buffer, buffer.count)
                guard (try? HTTPClient.sendAll(client, reply)) != nil else { return }
                if !more.isEmpty { while (try? HTTPClient.sendAll(client, more)) != nil {} }
            }
            thread?.start()
        }

        deinit {
            shutdown(listener, Int32(SHUT_RDWR))
            close(listener)
        }
    }

    func load(from reply: String, more: String = "") throws -> Result<StoredSession?, any Error> {
        let server = try FakeServer(reply: Array(reply.utf8), more: Array(more.utf8))
        let backend = RedisBackend(RedisServer(.tcp(host: "127.0.0.1", port: Int(server.port))), timeout: 2)
        return Result { try backend.load(SessionID.random()) }
    }

    static let hostile: [(name: String, reply: String, more: String, message: String)] = [
        ("an array count past the limit", "*2147483647\r\n", "", "an array of more than"),
        ("a bulk string larger than the limit", "$100000000\r\n", String(repeating: "x", count: 1 << 16), "larger than"),
        ("a malformed type byte", "?what\r\n", "", "protocol error"),
        ("a negative bulk length", "$-7\r\n", "", "out of range"),
        ("nesting deeper than the parser goes", String(repeating: "*1\r\n", count: 12), "", "nested"),
        ("a connection closed mid-reply", "*4\r\n$7\r\ncreated\r\n", "", "cannot read"),
    ]

    @Test(arguments: hostile)
    func hostileReplyIsAClearErrorNotACrash(_ hostile: (name: String, reply: String, more: String, message: String)) throws {
        let result = try load(from: hostile.reply, more: hostile.more)
        #expect(throws: SessionError.self) { try result.get() }
        if case .failure(let error) = result {
            #expect("\(error)".lowercased().contains(hostile.message.lowercased()), "\(hostile.name): \(error)")
        }
    }

    @Test(arguments: [
        ("+OK\r\n", "HGETALL answered"),
        ("*2\r\n:1\r\n:2\r\n", "not a string"),
        ("*2\r\n$7\r\ncreated\r\n$3\r\nabc\r\n", "lacks a creation"),
        ("*6\r\n$7\r\ncreated\r\n$1\r\n1\r\n$8\r\nmodified\r\n$1\r\n1\r\n$3\r\nv:a\r\n$2\r\n{x\r\n", "the value of v:a"),
    ])
    func replyThatIsNotASessionHashIsRefused(reply: String, message: String) throws {
        let result = try load(from: reply)
        #expect(throws: SessionError.self) { try result.get() }
        if case .failure(let error) = result { #expect("\(error)".contains(message), "\(error)") }
    }

    @Test func serverThatNeverAnswersTimesOut() throws {
        let (listener, port) = try listening()
        defer { close(listener) }
        let backend = RedisBackend(RedisServer(.tcp(host: "127.0.0.1", port: Int(port))), timeout: 0.3)
        let began = Date()
        #expect { try backend.load(SessionID.random()) } throws: { "\($0)".contains("no answer within the timeout") }
        #expect(Date().timeIntervalSince(began) < 2)
    }

    @Test(arguments: [
        ("redis://127.0.0.1", RedisServer(.tcp(host: "127.0.0.1", port: 6379))),
        ("redis://10.0.0.5:6380/2", RedisServer(.tcp(host: "10.0.0.5", port: 6380), database: 2)),
        ("redis://sessions:s%40cret@[::1]:7000/1", RedisServer(.tcp(host: "::1", port: 7000), user: "sessions", password: "s@cret", database: 1)),
        ("redis://:secret@host", RedisServer(.tcp(host: "host", port: 6379), password: "secret")),
        ("unix:///run/redis/redis.sock?db=3", RedisServer(.unix(path: "/run/redis/redis.sock"), database: 3)),
        ("unix://app:pw@/run/redis.sock", RedisServer(.unix(path: "/run/redis.sock"), user: "app", password: "pw")),
    ])
    func urlsNameTheirServer(url: String, server: RedisServer) throws {
        #expect(try RedisServer(url: url) == server)
    }

    @Test(arguments: ["http://host", "redis://", "redis://host:0", "redis://host:99999", "redis://host:x", "redis://host/x",
                      "unix://relative/path", "redis://a:b@host:%zz", "redis://u:p%z@host", "127.0.0.1:6379"])
    func badURLsAreRefused(url: String) {
        #expect(throws: RedisURLError.self) { try RedisServer(url: url) }
    }

    @Test func passwordsStayOutOfMessages() {
        #expect(throws: RedisURLError.self) { try RedisServer(url: "redis://app:hunter2@host:x") }
        do { _ = try RedisServer(url: "redis://app:hunter2@host:x") } catch { #expect(!"\(error)".contains("hunter2")) }
        #expect(!RedisServer(.tcp(host: "h", port: 1), user: "app", password: "hunter2").description.contains("hunter2"))
    }
}
