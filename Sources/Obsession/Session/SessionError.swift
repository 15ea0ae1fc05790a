/// Why a session operation failed.
///
/// ```swift
/// do { try session.load(id: id) } catch SessionError.unknownId { … }
/// ```
public enum SessionError: HTTPStatusError, Equatable, CustomStringConvertible {
    /// `load(id:)` was given an id the store does not have (or has expired).
    case unknownId
    /// Another request held the session longer than the store's timeout: 503.
    case lockTimeout(seconds: Double)
    /// The stored session cannot be used (corrupt, foreign-owned, a symbolic link): the request
    /// gets a fresh session, and the cause is logged.
    case unreadable(String)
    /// The store could not do what was asked; the string says what and why, and `errno` is the
    /// system's error number behind it, when a system call failed.
    case backendFailed(String, errno: Int32? = nil)
    /// A value could not be turned into session data or back.
    case coding(String)
    /// The store cannot be reached (a Redis server down, say): 503 with `Retry-After`, and the
    /// request that needed the session writes nothing. Service resumes when the store returns.
    case unavailable(String)
    /// The store cannot do what was asked at all (list a user's sessions, say); the string says what.
    case unsupported(String)

    /// 503 for a lock that timed out or a store out of reach (try again later), 500 for the rest.
    public var status: Int {
        switch self {
        case .lockTimeout, .unavailable: 503
        default: 500
        }
    }

    /// One second for a 503: a lock is held for a request's length, a store comes back or not.
    public var retryAfter: Int? {
        status == 503 ? 1 : nil
    }

    public var description: String {
        switch self {
        case .unknownId: "no session has that id"
        case .lockTimeout(let seconds): "another request held the session for more than \(seconds) s"
        case .unreadable(let reason): "unreadable session: \(reason)"
        case .backendFailed(let reason, _): "session backend failed: \(reason)"
        case .coding(let reason): "session data: \(reason)"
        case .unavailable(let reason): "session store unavailable: \(reason)"
        case .unsupported(let what): "not supported: \(what)"
        }
    }
}
