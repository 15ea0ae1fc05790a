internal import CHiredis
import FastCGI
import Glibc
import Obsession

/// One connection to a Redis server through hiredis: commands sent as argument vectors,
/// several at once in one round trip, replies read under ``RedisReplyLimits``. Not safe to share
/// between threads (no hiredis context is): ``RedisClient`` lends each to one request at a time.
/// After any I/O or protocol error the connection is broken and is dropped.
///
/// ```swift
/// let connection = try RedisConnection(to: .tcp(host: "127.0.0.1", port: 6379), timeout: 1)
/// let replies = try connection.send([["SET", "k", "v"], ["GET", "k"]])
/// ```
final class RedisConnection {
    private let context: UnsafeMutablePointer<redisContext>
    /// Where it is connected, for messages.
    let endpoint: RedisServer.Endpoint
    /// Set by the reader's callbacks when a reply broke ``RedisReplyLimits``.
    private let refused = UnsafeMutablePointer<Bool>.allocate(capacity: 1)
    /// Whether an error left the connection unusable.
    private(set) var isBroken = false

    /// Marks the connection unusable: it is not lent again.
    func markBroken() {
        isBroken = true
    }

    /// Connects within `timeout` seconds, and sets it as the read and write timeout too.
    init(to endpoint: RedisServer.Endpoint, timeout: Double) throws {
        self.endpoint = endpoint
        let interval = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - timeout.rounded(.down)) * 1e6))
        let made: UnsafeMutablePointer<redisContext>? = switch endpoint {
        case .tcp(let host, let port): redisConnectWithTimeout(host, Int32(port), interval)
        case .unix(let path): redisConnectUnixWithTimeout(path, interval)
        }
        guard let made else {
            refused.deallocate()
            throw SessionError.unavailable("redis at \(endpoint): out of memory")
        }
        // Checked before `context` is set: a throw after it would run deinit as well.
        guard made.pointee.err == 0 else {
            let reason = Self.message(made)
            redisFree(made)
            refused.deallocate()
            throw SessionError.unavailable("redis at \(endpoint): cannot connect: \(reason)")
        }
        refused.initialize(to: false)
        context = made
        redisSetTimeout(made, interval)
        made.pointee.reader.pointee.fn = RedisReplyLimits.functions
        made.pointee.reader.pointee.privdata = UnsafeMutableRawPointer(refused)
    }

    deinit {
        redisFree(context)
        refused.deallocate()
    }

    /// Whether the server closed the connection (or sent something unasked) while it lay idle:
    /// such a connection is not reused. One `poll` that does not wait.
    var closedByServer: Bool {
        var descriptor = pollfd(fd: context.pointee.fd, events: Int16(POLLIN), revents: 0)
        return poll(&descriptor, 1, 0) != 0
    }

    /// Sends `commands` together and returns their replies in order: one round trip. A reply
    /// that is a Redis error comes back as ``RedisReply/error(_:)``; a failure to talk to the
    /// server throws ``SessionError/unavailable(_:)`` and breaks the connection.
    func send(_ commands: [[String]]) throws -> [RedisReply] {
        try send(commands.map { $0.map { Array($0.utf8) } })
    }

    /// ``send(_:)-([[String]])`` with byte arguments.
    func send(_ commands: [[[UInt8]]]) throws -> [RedisReply] {
        guard !isBroken else { throw SessionError.unavailable("redis at \(endpoint): connection broken") }
        for command in commands { try append(command) }
        var done: Int32 = 0
        while done == 0 {
            guard redisBufferWrite(context, &done) == REDIS_OK else { throw failure("cannot send") }
        }
        let replies = try commands.map { _ in try readReply() }
        // A server still loading its data after a restart, or a replica cut off from its
        // master, will answer soon: that is the store out of reach for now, not a failure.
        for case .error(let message) in replies where message.hasPrefix("LOADING") || message.hasPrefix("MASTERDOWN") {
            throw SessionError.unavailable("redis at \(endpoint): \(message)")
        }
        return replies
    }

    /// A single command's reply.
    func command(_ arguments: [String]) throws -> RedisReply {
        try send([arguments])[0]
    }

    /// Formats one command into hiredis's output buffer: its arguments laid end to end in
    /// one buffer, and a pointer and length for each.
    private func append(_ arguments: [[UInt8]]) throws {
        let joined = Array(arguments.joined()) + [0]
        let lengths = arguments.map(\.count)
        let status = joined.withUnsafeBufferPointer { bytes in
            let base = UnsafeRawPointer(bytes.baseAddress!).assumingMemoryBound(to: CChar.self)
            var offset = 0
            var pointers: [UnsafePointer<CChar>?] = lengths.map { length in
                defer { offset += length }
                return base + offset
            }
            return redisAppendCommandArgv(context, Int32(arguments.count), &pointers, lengths)
        }
        guard status == REDIS_OK else { throw failure("cannot format a command") }
    }

    /// The next reply, read until whole, refused once more than ``RedisReplyLimits/maxBytes``
    /// wait unparsed.
    private func readReply() throws -> RedisReply {
        var raw: UnsafeMutableRawPointer?
        while true {
            guard redisGetReplyFromReader(context, &raw) == REDIS_OK else { throw failure("bad reply") }
            if let raw {
                defer { freeReplyObject(raw) }
                return RedisReply(raw.assumingMemoryBound(to: redisReply.self))
            }
            let reader = context.pointee.reader.pointee
            guard reader.len - reader.pos <= RedisReplyLimits.maxBytes else {
                isBroken = true
                throw SessionError.unavailable("redis at \(endpoint): reply refused: larger than \(RedisReplyLimits.maxBytes) bytes")
            }
            guard redisBufferRead(context) == REDIS_OK else { throw failure("cannot read") }
        }
    }

    /// Marks the connection broken and says why, as hiredis told it.
    private func failure(_ doing: String) -> SessionError {
        isBroken = true
        if refused.pointee {
            return .unavailable("redis at \(endpoint): reply refused: an array of more than \(RedisReplyLimits.maxElements) elements")
        }
        return .unavailable("redis at \(endpoint): \(doing): \(Self.message(context))")
    }

    private static func message(_ context: UnsafeMutablePointer<redisContext>) -> String {
        let text = withUnsafeBytes(of: context.pointee.errstr) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        if text == "Resource temporarily unavailable" { return "no answer within the timeout" }
        return text.isEmpty ? "unknown error" : text
    }
}
