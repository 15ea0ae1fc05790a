/// A store that keeps an index of each user's sessions, so that ``SessionBackend/sessions(ofUser:)``
/// and ``SessionBackend/logOut(user:except:)`` look at that user's sessions alone rather than
/// read every session stored.
///
/// The index may name more than the user's sessions, never fewer: a store records an id for
/// a user before (or together with) the change that stores the user in the session
/// (``SessionChanges/user``), and may leave an id behind once its session is gone or changed
/// hands; the session layer checks every id it is given against the stored session, and has the
/// store ``forget(_:ofUser:)`` the stale ones. So a crash between the two writes leaves an
/// extra entry, cleaned at the next look, and never a session that "log out everywhere" misses.
///
/// ```swift
/// for id in try backend.userIndex?.recordedSessions(ofUser: "ann") ?? [] { … }
/// ```
public protocol SessionUserIndexing: SessionBackend {
    /// The ids recorded for `user`: every stored session logged in as `user` among them.
    func recordedSessions(ofUser user: String) throws -> [SessionID]

    /// Drops `id` from `user`'s record; dropping one not recorded is not an error.
    func forget(_ id: SessionID, ofUser user: String) throws
}

extension StoredSession {
    /// The user the session is logged in as, or nil.
    ///
    /// ```swift
    /// if stored.user == "ann" { try backend.delete(id) }
    /// ```
    public var user: String? { values[Session.userKey]?.stringValue }

    /// When the session was really last used: its modification time, less the extra lifetime
    /// of a remembered session (whose store is told a later time, so that it keeps it longer).
    ///
    /// ```swift
    /// print("idle for \(now - stored.lastSeen) s")
    /// ```
    public var lastSeen: Int { modifiedAt - Session.rememberedExtension(of: values) }
}
