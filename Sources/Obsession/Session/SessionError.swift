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

    /// 503 for a lock that timed out (try again later), 500 for the rest.
    public var status: Int {
        if case .lockTimeout = self { 503 } else { 500 }
    }

    public var description: String {
        switch self {
        case .unknownId: "no session has that id"
        case .lockTimeout(let seconds): "another request held the session for more than \(seconds) s"
        case .unreadable(let reason): "unreadable session: \(reason)"
        case .backendFailed(let reason, _): "session backend failed: \(reason)"
        case .coding(let reason): "session data: \(reason)"
        }
    }
}
