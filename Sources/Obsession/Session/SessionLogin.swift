extension Session {
    /// The key the logged-in user is kept under; a store's index of users' sessions reads it.
    static let userKey = "_user"
    /// The key the details of a login are kept under: when, and what the application recorded.
    static let loginKey = "_login"
    /// The key a remembered session keeps its extra lifetime under, in seconds.
    static let rememberKey = "_remember"

    /// The user this session is logged in as (by ``logIn(user:remember:details:)``), or nil.
    ///
    /// ```swift
    /// guard let user = session.user else { return try response.redirect(to: "/login") }
    /// ```
    public var user: String? { self[Self.userKey]?.stringValue }

    /// Whether the session was remembered at its login: it lives for the middleware's
    /// `rememberedLifetime`, its cookie with it.
    public var isRemembered: Bool { extraLifetime > 0 }

    /// Logs the session in as `user`: cycles it (a new id and CSRF token, see ``cycle()``),
    /// then records the user, the time and `details`, which the store's index of the user's
    /// sessions then finds (see ``SessionBackend/sessions(ofUser:)``).
    ///
    /// With `remember`, the session and its cookie live for the middleware's
    /// `rememberedLifetime` (30 days unless set) since the last request, rather than the idle
    /// timeout, and the cookie outlives the browser. Any absolute timeout still holds.
    ///
    /// ```swift
    /// try session.logIn(user: "ann", remember: form.fields["remember"] == "on",
    ///                   details: ["address": .string(request.remoteAddress ?? ""), "browser": .string(agent)])
    /// ```
    public func logIn(user: String, remember: Bool = false, details: [String: SessionValue] = [:]) throws {
        try cycle()
        var login = details
        login["at"] = .int(settings.clock.now)
        self[Self.loginKey] = .object(login)
        self[Self.userKey] = .string(user)
        let extra = Swift.max(0, settings.rememberedLifetime - settings.idleTimeout)
        extraLifetime = remember ? extra : 0
        self[Self.rememberKey] = extraLifetime > 0 ? .int(extraLifetime) : nil
        userRecorded = true
    }

    /// Ends every session of this session's user but this one, and says how many ended: the
    /// "log out everywhere else" of an account page. Nothing when nobody is logged in.
    ///
    /// ```swift
    /// let ended = try session.logOutOtherSessions()
    /// session.flash("Logged out \(ended) other sessions.")
    /// ```
    @discardableResult
    public func logOutOtherSessions() throws -> Int {
        guard let user else { return 0 }
        return try backend.logOut(user: user, except: id)
    }

    /// Ends session `id` if it is another session of this session's user (the "log out this
    /// one" of an account page), and says whether it did: an id of anyone else's session, or
    /// of none, ends nothing.
    ///
    /// ```swift
    /// if let other = try session.userSessions().first(where: { $0.id.tag == form.fields["id"] }) {
    ///     try session.logOutOtherSession(other.id)
    /// }
    /// ```
    @discardableResult
    public func logOutOtherSession(_ other: SessionID) throws -> Bool {
        guard let user, other != id, try backend.load(other)?.user == user else { return false }
        try backend.delete(other, loggedInAs: user)
        return true
    }

    /// The sessions of this session's user, this one among them, most recently seen first.
    ///
    /// ```swift
    /// for other in try session.userSessions() where other.id != session.id { … }
    /// ```
    public func userSessions() throws -> [UserSession] {
        guard let user else { return [] }
        return try backend.sessions(ofUser: user)
    }

    /// The time a store is told a change or a touch of this session happened: the clock's, and
    /// for a remembered session later by its extra lifetime. So every store's own expiry (the
    /// file store's collection by modification time, Redis's TTL) keeps it that much longer
    /// without knowing of remember me; ``StoredSession/lastSeen`` takes the extra back off.
    var storeTime: Int { settings.clock.now + extraLifetime }

    /// The extra lifetime of a remembered session's values, in seconds; 0 for any other.
    static func rememberedExtension(of values: [String: SessionValue]) -> Int {
        Swift.max(0, values[rememberKey]?.recordedInt ?? 0)
    }

    /// The cookie's Max-Age for this session: a remembered session's whole lifetime, else the
    /// cookie's own.
    var cookieMaxAge: Int? { extraLifetime > 0 ? settings.idleTimeout + extraLifetime : settings.cookie.maxAge }
}
