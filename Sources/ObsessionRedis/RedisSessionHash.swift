import Obsession

/// How a session lies in its Redis hash: `created` and `modified` as decimal seconds since
/// 1970, `bytes` (the size of its fields and values, which the save script keeps), and each
/// value under `v:KEY` as JSON, so that `redis-cli HGETALL` shows it plainly
/// and a save can set or remove one key without touching the others.
///
/// ```
/// 127.0.0.1:6379> HGETALL obsession:{Wm0…}
/// 1) "created"  2) "1800000000"  3) "modified"  4) "1800000060"  5) "bytes"  6) "11"  7) "v:user"  8) "\"ann\""
/// ```
enum RedisSessionHash {
    /// The field of session key `name`.
    static func field(_ name: String) -> [UInt8] {
        Array("v:".utf8) + Array(name.utf8)
    }

    /// `value` as stored; throws for one nested too deep to read back.
    static func encode(_ value: SessionValue, key: String) throws -> [UInt8] {
        do {
            return try JSON.encode(value)
        } catch var error {
            error.key = key
            throw SessionError.coding("\(error)")
        }
    }

    /// The session in an `HGETALL` reply; nil for an empty one (nothing stored). A hash that is
    /// not one of ours, or a value that is not JSON, makes the session unreadable (the request
    /// gets a fresh one), never half read.
    static func decode(_ reply: RedisReply, id: SessionID) throws -> StoredSession? {
        guard case .array(let items) = reply, items.count % 2 == 0 else {
            throw SessionError.backendFailed("redis: HGETALL answered \(reply)")
        }
        if items.isEmpty { return nil }
        var created: Int?
        var modified: Int?
        var values: [String: SessionValue] = [:]
        var index = 0
        while index < items.count {
            guard case .string(let name) = items[index], case .string(let bytes) = items[index + 1] else {
                throw SessionError.unreadable("session \(id.tag): a field that is not a string")
            }
            index += 2
            if name.starts(with: "v:".utf8) {
                do {
                    values[String(decoding: name.dropFirst(2), as: UTF8.self)] = try JSON.decode(bytes)
                } catch {
                    throw SessionError.unreadable("session \(id.tag): the value of \(String(decoding: name, as: UTF8.self)): \(error)")
                }
            } else if name.elementsEqual("created".utf8) {
                created = Int(String(decoding: bytes, as: UTF8.self))
            } else if name.elementsEqual("modified".utf8) {
                modified = Int(String(decoding: bytes, as: UTF8.self))
            }
        }
        guard let created, let modified else {
            throw SessionError.unreadable("session \(id.tag): its hash lacks a creation or modification time")
        }
        return StoredSession(values: values, createdAt: created, modifiedAt: modified)
    }
}
