import FastCGI
import Glibc
import Obsession

extension RedisClient {
    /// Runs `script`, a hold script (KEYS: the session, its lock; ARGV: a token and the lock's
    /// expiry in milliseconds; nil when no session is stored, 0 while another request holds the
    /// lock, else what it read), with a fresh random token, again with jittered back-off while
    /// the lock is held, up to `timeout` seconds (then ``SessionError/lockTimeout(seconds:)``).
    /// Nil when no session is stored; else the token now holding the lock and what the script read.
    func takeLock(_ script: RedisScript, keys: [String], expiry: Double, timeout: Double) throws
        -> (token: String, reply: RedisReply)? {
        let token = SessionID.random().text
        let deadline = MonotonicClock.now + timeout
        var pause = 0.002
        while true {
            let reply = try run(script, keys: keys, arguments: [Array(token.utf8), Array(String(Int(expiry * 1000)).utf8)])
            switch reply {
            case .null: return nil
            case .integer: break
            default: return (token, reply)
            }
            guard MonotonicClock.now < deadline else { throw SessionError.lockTimeout(seconds: timeout) }
            // Jitter, so that waiters woken together do not ask together again.
            usleep(UInt32(pause * Double.random(in: 0.5...1.5) * 1_000_000))
            pause = min(pause * 2, 0.05)
        }
    }

    /// Releases the lock at `lockKey` if `token` still holds it. One that cannot be released
    /// (Redis out of reach) lapses after `expiry` seconds, and the log says so.
    func releaseLock(_ lockKey: String, token: String, of id: SessionID, expiry: Double) {
        do {
            _ = try run(.release, keys: [lockKey], arguments: [Array(token.utf8)])
        } catch {
            logLine("session \(id.tag): lock not released (it lapses after \(expiry) s): \(error)", level: .warning)
        }
    }
}
