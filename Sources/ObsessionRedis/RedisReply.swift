internal import CHiredis
import Glibc

/// One reply from a Redis server, copied out of hiredis's parser into Swift values.
///
/// ```swift
/// if case .string(let bytes) = try connection.command(["GET", "k"]) { … }
/// ```
package enum RedisReply: Equatable, Sendable {
    /// A simple string: `+OK`.
    case status(String)
    /// An error: `-NOSCRIPT No matching script`.
    case error(String)
    case integer(Int)
    /// A bulk string, bytes as sent.
    case string([UInt8])
    /// A nil bulk string or array: nothing stored.
    case null
    case array([RedisReply])

    /// The bytes of a bulk or simple string as text, else nil.
    package var text: String? {
        switch self {
        case .string(let bytes): String(decoding: bytes, as: UTF8.self)
        case .status(let text): text
        default: nil
        }
    }

    /// Copies hiredis's reply tree.
    init(_ reply: UnsafePointer<redisReply>) {
        let r = reply.pointee
        switch r.type {
        case REDIS_REPLY_STATUS: self = .status(String(cString: r.str))
        case REDIS_REPLY_ERROR: self = .error(String(cString: r.str))
        case REDIS_REPLY_INTEGER: self = .integer(Int(r.integer))
        case REDIS_REPLY_STRING:
            self = .string(r.len == 0 ? [] : Array(UnsafeRawBufferPointer(start: r.str, count: r.len)))
        case REDIS_REPLY_ARRAY:
            self = .array((0..<r.elements).map { RedisReply(r.element[$0]!) })
        default: self = .null
        }
    }
}

/// The parser's limits on one reply: a client does not trust its server blindly (hiredis's
/// CVE-2021-32765 was an array count that overflowed an allocation). Set on each connection's
/// reader, so a reply breaking them fails that command with a clear error instead of
/// allocating what the server asks.
enum RedisReplyLimits {
    /// Most elements in one array: a session's hash has two per key, and far fewer keys.
    static let maxElements: Int32 = 1 << 20
    /// Most bytes one reply may take while it arrives: bulk strings are held whole.
    static let maxBytes = 64 << 20

    /// hiredis's reader callbacks, building the same `redisReply` tree its defaults build
    /// (so `freeReplyObject` frees it), but refusing an array longer than ``maxElements``: a
    /// callback's nil is the reader's error, recorded in the flag `privdata` points to. Made
    /// once, where it never moves, and only read after: every connection's reader points here.
    nonisolated(unsafe) static let functions: UnsafeMutablePointer<redisReplyObjectFunctions> = {
        let functions = UnsafeMutablePointer<redisReplyObjectFunctions>.allocate(capacity: 1)
        functions.initialize(to: callbacks)
        return functions
    }()

    private static let callbacks = redisReplyObjectFunctions(
        createString: { task, text, length in
            guard let reply = makeReply(task!, type: task!.pointee.type) else { return nil }
            guard let copy = malloc(length + 1) else { free(reply); return nil }
            if length > 0 { memcpy(copy, text!, length) }
            copy.assumingMemoryBound(to: CChar.self)[length] = 0
            reply.pointee.str = copy.assumingMemoryBound(to: CChar.self)
            reply.pointee.len = length
            return attach(reply, task!)
        },
        createArray: { task, count in
            guard count <= maxElements else {
                task!.pointee.privdata?.storeBytes(of: true, as: Bool.self)
                return nil
            }
            guard let reply = makeReply(task!, type: REDIS_REPLY_ARRAY) else { return nil }
            if count > 0 {
                guard let elements = calloc(Int(count), MemoryLayout<UnsafeMutablePointer<redisReply>?>.stride) else {
                    free(reply)
                    return nil
                }
                reply.pointee.element = elements.assumingMemoryBound(to: UnsafeMutablePointer<redisReply>?.self)
            }
            reply.pointee.elements = Int(count)
            return attach(reply, task!)
        },
        createInteger: { task, value in
            guard let reply = makeReply(task!, type: REDIS_REPLY_INTEGER) else { return nil }
            reply.pointee.integer = value
            return attach(reply, task!)
        },
        createNil: { task in
            guard let reply = makeReply(task!, type: REDIS_REPLY_NIL) else { return nil }
            return attach(reply, task!)
        },
        freeObject: { freeReplyObject($0) })

    private static func makeReply(_ task: UnsafePointer<redisReadTask>, type: Int32) -> UnsafeMutablePointer<redisReply>? {
        guard let memory = calloc(1, MemoryLayout<redisReply>.stride) else { return nil }
        let reply = memory.assumingMemoryBound(to: redisReply.self)
        reply.pointee.type = type
        return reply
    }

    /// Puts `reply` in its place in the parent array, as the default callbacks do.
    private static func attach(_ reply: UnsafeMutablePointer<redisReply>, _ task: UnsafePointer<redisReadTask>) -> UnsafeMutableRawPointer {
        if let parent = task.pointee.parent?.pointee.obj?.assumingMemoryBound(to: redisReply.self) {
            parent.pointee.element[Int(task.pointee.idx)] = reply
        }
        return UnsafeMutableRawPointer(reply)
    }
}
