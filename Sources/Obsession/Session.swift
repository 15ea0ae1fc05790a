/// One request's session: a dictionary of ``SessionValue`` that is loaded when the handler
/// first asks for it and saved when the request ends, if it changed and is not empty.
///
/// ```swift
/// let session = try request.session()
/// session["user"] = "ann"
/// session["cart"] = [1, 2, 3]
/// session["cart"]?.append(4)
/// try session.cycle()            // after a login: new id, same data
/// ```
public final class Session: Sequence {
    private let backend: any SessionBackend
    private let settings: SessionMiddlewareSettings
    /// The id the client sent, if it named a session that still exists.
    private var clientID: SessionID?
    private var currentID: SessionID?
    private var data: [String: SessionValue] = [:]
    /// Whether the data differs from what is stored.
    private(set) var changed = false
    /// Whether the client must be sent the session cookie (new id, cycled, loaded, refreshed).
    private var cookieDue = false
    /// Whether the stored session should be touched (rolling refresh).
    private var touchDue = false
    /// Whether the client's cookie must be expired.
    private var expireDue = false

    init(backend: any SessionBackend, settings: SessionMiddlewareSettings) {
        self.backend = backend
        self.settings = settings
    }

    /// Loads the session the client's id names. An unknown, expired or unreadable session
    /// leaves this one empty (it gets a new id when saved); `log` hears why.
    func start(clientID id: SessionID?, log: (String) -> Void) throws {
        guard let id else { return }
        let stored: StoredSession?
        do {
            stored = try backend.load(id)
        } catch SessionError.unreadable(let reason) {
            log("session replaced by a fresh one: \(reason)")
            return
        }
        guard let stored else { return }
        let now = settings.clock.now
        if let idle = settings.idleTimeout, now - stored.modifiedAt > idle {
            log("session expired after \(now - stored.modifiedAt) s idle (limit \(idle) s)")
            try backend.delete(id)
            return
        }
        if let lifetime = settings.absoluteTimeout, now - stored.createdAt > lifetime {
            log("session expired \(now - stored.createdAt) s after it began (limit \(lifetime) s)")
            try backend.delete(id)
            return
        }
        do {
            guard case .object(let members) = try JSON.decode(stored.data) else { throw JSON.SyntaxError(description: "not an object") }
            data = members
        } catch {
            log("session replaced by a fresh one: its data is not a JSON object (\(error))")
            return
        }
        clientID = id
        currentID = id
        if let maxAge = settings.cookie.maxAge, now - stored.modifiedAt > maxAge / 8 {
            touchDue = true
            cookieDue = true
        }
    }

    /// The session's id; a new session gets one now (it reaches the client when saved).
    ///
    /// ```swift
    /// let id = session.id.text
    /// ```
    public var id: SessionID {
        if let currentID { return currentID }
        let fresh = SessionID.random()
        currentID = fresh
        return fresh
    }

    /// The value under `key`; setting one (or nil to remove it) marks the session changed, and
    /// so does changing a value inside one (`session["cart"]?.append(4)`).
    ///
    /// ```swift
    /// session["visits"] = .int((session["visits"]?.intValue ?? 0) + 1)
    /// ```
    public subscript(key: String) -> SessionValue? {
        get { data[key] }
        set {
            data[key] = newValue
            changed = true
        }
    }

    /// Removes the value under `key` and returns it.
    ///
    /// ```swift
    /// let old = session.removeValue(forKey: "cart")
    /// ```
    @discardableResult
    public func removeValue(forKey key: String) -> SessionValue? {
        guard let old = data.removeValue(forKey: key) else { return nil }
        changed = true
        return old
    }

    /// The keys, in no particular order.
    public var keys: [String] { Array(data.keys) }
    /// How many values the session holds.
    public var count: Int { data.count }
    /// Whether the session holds no value.
    public var isEmpty: Bool { data.isEmpty }
    /// The whole data, as one object value.
    ///
    /// ```swift
    /// try response.write(session.value.description)   // JSON
    /// ```
    public var value: SessionValue { .object(data) }

    /// The key–value pairs, in no particular order.
    public func makeIterator() -> Dictionary<String, SessionValue>.Iterator { data.makeIterator() }

    /// Saves the session now (it is also saved when the request ends, if changed and not empty).
    ///
    /// ```swift
    /// session["step"] = 2
    /// try session.save()
    /// ```
    public func save() throws {
        if data.isEmpty {
            try forgetStored()
            changed = false
            return
        }
        let id = self.id
        try backend.save(id, data: JSON.encode(.object(data)))
        changed = false
        touchDue = false
        if id != clientID {
            cookieDue = true
            expireDue = false
        }
    }

    /// Gives the session a new id, keeping its data, and removes the old id from the backend.
    /// Do this when privileges change (a login), so an id known before is worth nothing after.
    ///
    /// ```swift
    /// try session.cycle()
    /// session["user"] = "ann"
    /// ```
    public func cycle() throws {
        let old = currentID
        currentID = SessionID.random()
        if !data.isEmpty {
            try backend.save(currentID!, data: JSON.encode(.object(data)))
            changed = false
            cookieDue = true
        }
        if let old { try backend.delete(old) }
        touchDue = false
    }

    /// Switches this request to the stored session `id`, for a service that passes the id by
    /// other means than the cookie. The client is sent the new id.
    ///
    /// Throws ``SessionError/unknownId`` if there is no such session.
    ///
    /// ```swift
    /// try session.load(id: idFromTheOtherService)
    /// ```
    public func load(id: SessionID) throws {
        guard let stored = try backend.load(id),
              case .object(let members) = try? JSON.decode(stored.data) else { throw SessionError.unknownId }
        data = members
        currentID = id
        changed = false
        cookieDue = id != clientID
    }

    /// Removes the session from the backend and tells the client to drop its cookie.
    ///
    /// ```swift
    /// try session.delete()   // logout
    /// ```
    public func delete() throws {
        data = [:]
        changed = false
        try forgetStored()
    }

    private func forgetStored() throws {
        if let currentID { try backend.delete(currentID) }
        if clientID != nil || cookieDue { expireDue = true }
        currentID = nil
        clientID = nil
        cookieDue = false
        touchDue = false
    }

    /// Saves what changed and sets or expires the cookie, while the headers can still change.
    func commit(to response: Response) throws {
        if changed { try save() }
        if touchDue, let currentID {
            try backend.touch(currentID)
            touchDue = false
        }
        guard cookieDue || expireDue else { return }
        if cookieDue, let currentID {
            try response.setCookie(settings.cookie.cookie(for: currentID))
        } else {
            try response.setCookie(settings.cookie.expiredCookie())
        }
        if response.header("Cache-Control") == nil { try response.setHeader("Cache-Control", "no-store") }
        if response.header("Vary") == nil { try response.setHeader("Vary", "Cookie") }
        clientID = cookieDue ? currentID : nil
        cookieDue = false
        expireDue = false
    }

    /// Saves what changed after the headers left; a change that needed a new cookie is logged,
    /// since the client can no longer be told.
    func commitAfterHeaders(log: (String) -> Void) throws {
        guard changed else { return }
        if currentID == nil || currentID != clientID {
            log("session changed after the response headers were sent: a new session cannot reach the client, not saved")
            return
        }
        try save()
    }
}
