/// One session of a user, as an account page lists them: when it began, when it was last
/// seen, whether it is remembered, and what the application recorded at its login.
///
/// ```swift
/// for other in try session.userSessions() {
///     print(other.id.tag, other.lastSeen, other.details["browser"]?.stringValue ?? "?")
/// }
/// ```
public struct UserSession: Sendable, Equatable {
    /// The session's id.
    public let id: SessionID
    /// The user it is logged in as.
    public let user: String
    /// When it began, in seconds since 1970.
    public let createdAt: Int
    /// When it was last used (a change, or a refresh of its cookie), in seconds since 1970.
    public let lastSeen: Int
    /// When it was logged in, in seconds since 1970.
    public let loggedInAt: Int?
    /// Whether it was remembered at its login.
    public let isRemembered: Bool
    /// What the application recorded at the login (say `address` and `browser`).
    public let details: [String: SessionValue]

    /// The session `id` as stored, if it is a user's session.
    ///
    /// ```swift
    /// let session = UserSession(id: id, stored: stored)
    /// ```
    public init?(id: SessionID, stored: StoredSession) {
        guard let user = stored.user else { return nil }
        self.id = id
        self.user = user
        createdAt = stored.createdAt
        lastSeen = stored.lastSeen
        isRemembered = stored.values[Session.rememberKey] != nil
        var details = stored.values[Session.loginKey]?.objectValue ?? [:]
        loggedInAt = details.removeValue(forKey: "at")?.recordedInt
        self.details = details
    }
}

extension SessionBackend {
    /// The sessions logged in as `user`, most recently seen first: through the store's index
    /// if it keeps one (``SessionUserIndexing``), whose stale entries are dropped on the way,
    /// else by reading every session of a store that lists them (``SessionListing``). Throws
    /// ``SessionError/unsupported(_:)`` for a store that can do neither.
    ///
    /// ```swift
    /// let sessions = try backend.sessions(ofUser: "ann")
    /// ```
    public func sessions(ofUser user: String) throws -> [UserSession] {
        var found: [UserSession] = []
        if let index = userIndex {
            for id in try index.recordedSessions(ofUser: user) {
                if let session = try session(id, ofUser: user) { found.append(session) } else { try index.forget(id, ofUser: user) }
            }
        } else if let listing {
            try listing.forEachSession { id in
                if let session = try session(id, ofUser: user) { found.append(session) }
                return true
            }
        } else {
            throw SessionError.unsupported("this store can neither index nor list its sessions")
        }
        return found.sorted { $0.lastSeen > $1.lastSeen }
    }

    /// The session `id` if it is stored and logged in as `user`; an unreadable one is none.
    private func session(_ id: SessionID, ofUser user: String) throws -> UserSession? {
        let stored: StoredSession?
        do { stored = try load(id) } catch SessionError.unreadable { stored = nil }
        guard let stored, stored.user == user else { return nil }
        return UserSession(id: id, stored: stored)
    }

    /// Ends every session logged in as `user`, but the one under `except` if given, and says
    /// how many ended: "log out everywhere" (from the command line, `obsession logout-user`).
    ///
    /// ```swift
    /// try backend.logOut(user: "ann", except: session.id)   // all ann's other sessions
    /// ```
    @discardableResult
    public func logOut(user: String, except: SessionID? = nil) throws -> Int {
        var ended = 0
        for session in try sessions(ofUser: user) where session.id != except {
            try delete(session.id, loggedInAs: user)
            ended += 1
        }
        return ended
    }

    /// Removes session `id`, logged in as `user` (nil: as nobody), and its entry in the store's
    /// index of that user's sessions.
    ///
    /// ```swift
    /// try backend.delete(id, loggedInAs: stored.user)
    /// ```
    public func delete(_ id: SessionID, loggedInAs user: String?) throws {
        try delete(id)
        if let user { try userIndex?.forget(id, ofUser: user) }
    }
}
