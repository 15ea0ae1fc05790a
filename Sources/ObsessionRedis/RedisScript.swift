/// A Lua script the store runs on the server, so that what it does to a session happens at
/// once, in one round trip, whatever other requests do meanwhile.
///
/// A session is one hash: `created` and `modified` (seconds since 1970), `bytes` (its size),
/// and one field `v:KEY` per value, JSON. Its key's expiry is the lesser of the idle timeout and what is left of the
/// absolute lifetime, set again by every save and touch.
struct RedisScript: Sendable {
    /// The name messages use.
    let name: String
    let source: String

    /// Sets the key's expiry from `created`, `now`, `idle` and `absolute` (0: none), in a
    /// script's local scope; a session past its lifetime is deleted and the script returns `gone`.
    private static let expire = """
        local function expire(key, created, now, idle, absolute)
          local ttl = idle
          if absolute > 0 then ttl = math.min(ttl, created + absolute - now) end
          if ttl <= 0 then redis.call('DEL', key) return false end
          redis.call('PEXPIRE', key, ttl * 1000)
          return true
        end
        local function call_chunked(command, key, items, first)
          for i = first, #items, 1000 do
            redis.call(command, key, unpack(items, i, math.min(i + 999, #items)))
          end
        end
        """

    /// Applies one save. KEYS: the session, its lock, and for a save that logs the session in,
    /// its user's set, which gets the session's id in the same step (and a TTL no shorter than
    /// the session's). ARGV: `create` or `update`, the creation
    /// time (create), the time, the idle timeout, the absolute timeout, the lock token (empty
    /// without a lock), the most bytes the session may hold, the number N of fields set, then N
    /// field–value pairs, then the fields removed. Returns `applied`; `exists` (a new session's
    /// id is taken); `gone` (deleted or cycled meanwhile); `lost` (the lock is no longer this
    /// request's); `large` (the session would outgrow its limit: nothing is written). The
    /// session's size in bytes (fields and values) is kept in `bytes`, so that checking it
    /// costs only the fields changed.
    static let save = RedisScript(name: "save", source: expire + """

        local key, lock = KEYS[1], KEYS[2]
        local now, idle, absolute = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
        if ARGV[6] ~= '' and redis.call('GET', lock) ~= ARGV[6] then return 'lost' end
        local created
        if ARGV[1] == 'create' then
          if redis.call('EXISTS', key) == 1 then return 'exists' end
          created = tonumber(ARGV[2])
        else
          created = tonumber(redis.call('HGET', key, 'created'))
          if not created then return 'gone' end
        end
        local set = tonumber(ARGV[8])
        local size = tonumber(redis.call('HGET', key, 'bytes') or '0')
        local function stored(field)
          local length = redis.call('HSTRLEN', key, field)
          if length > 0 then return #field + length end
          return 0
        end
        for i = 9, 8 + 2 * set, 2 do size = size - stored(ARGV[i]) + #ARGV[i] + #ARGV[i + 1] end
        for i = 9 + 2 * set, #ARGV do size = size - stored(ARGV[i]) end
        if size > tonumber(ARGV[7]) then return 'large' end
        local fields = {'created', created, 'modified', now, 'bytes', size}
        for i = 9, 8 + 2 * set do fields[#fields + 1] = ARGV[i] end
        call_chunked('HSET', key, fields, 1)
        if #ARGV > 8 + 2 * set then
          local removed = {}
          for i = 9 + 2 * set, #ARGV do removed[#removed + 1] = ARGV[i] end
          call_chunked('HDEL', key, removed, 1)
        end
        if not expire(key, created, now, idle, absolute) then return 'gone' end
        if KEYS[3] then
          redis.call('SADD', KEYS[3], string.match(key, '{([^}]*)}$'))
          local ttl = redis.call('PTTL', key)
          if redis.call('PTTL', KEYS[3]) < ttl then redis.call('PEXPIRE', KEYS[3], ttl) end
        end
        return 'applied'
        """)

    /// Marks a session used. KEYS: the session. ARGV: the time, the idle and absolute
    /// timeouts. Nothing is made for a session not stored.
    static let touch = RedisScript(name: "touch", source: expire + """

        local created = tonumber(redis.call('HGET', KEYS[1], 'created'))
        if not created then return 0 end
        local now = tonumber(ARGV[1])
        redis.call('HSET', KEYS[1], 'modified', now)
        expire(KEYS[1], created, now, tonumber(ARGV[2]), tonumber(ARGV[3]))
        return 1
        """)

    /// Takes a session's lock and reads it, if it is stored. KEYS: the session, its lock. ARGV:
    /// the token, the lock's expiry in milliseconds. Returns nil when no session is stored (no
    /// lock is made), 0 when another request holds the lock, else the session's fields.
    static let hold = RedisScript(name: "hold", source: """
        if redis.call('EXISTS', KEYS[1]) == 0 then return false end
        if not redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then return 0 end
        return redis.call('HGETALL', KEYS[1])
        """)

    /// Releases a lock if it is still this request's. KEYS: the lock. ARGV: the token.
    static let release = RedisScript(name: "release", source: """
        if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
        return 0
        """)
}

extension RedisScript {
    /// phpredis's session: takes its lock (`<key>_LOCK`, as phpredis names it) and reads it, if
    /// it is stored. KEYS: the session, its lock. ARGV: the token, the lock's expiry in
    /// milliseconds. Returns nil when no session is stored, 0 when the lock is held, else the
    /// session's data and its PTTL.
    static let phpHold = RedisScript(name: "php-hold", source: """
        if redis.call('EXISTS', KEYS[1]) == 0 then return false end
        if not redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then return 0 end
        return {redis.call('GET', KEYS[1]), redis.call('PTTL', KEYS[1])}
        """)

    /// phpredis's session: writes its data whole, with PHP's lifetime as its TTL, only where
    /// nothing is (create) or while it is stored (update), and only while the lock `token`
    /// names is held (empty: no lock). KEYS: the session, its lock. ARGV: `create` or
    /// `update`, the data, the TTL in seconds, the token. Returns `applied`, `exists`, `gone`
    /// or `lost`.
    static let phpSave = RedisScript(name: "php-save", source: """
        if ARGV[4] ~= '' and redis.call('GET', KEYS[2]) ~= ARGV[4] then return 'lost' end
        local condition = 'XX'
        if ARGV[1] == 'create' then condition = 'NX' end
        if not redis.call('SET', KEYS[1], ARGV[2], condition, 'EX', ARGV[3]) then
          if ARGV[1] == 'create' then return 'exists' end
          return 'gone'
        end
        return 'applied'
        """)
}
