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
///
/// Underneath, a small state machine: where the session stands against the store (fresh, or
/// stored under an id at a revision), the values the request sees, the keys it changed since
/// the last save, and the id the client holds. Every change of state happens in the methods
/// below, and what reaches the store and the client is decided in one place, when the request
/// commits the session (before its headers leave, and when its handler returns).
public final class Session: Sequence {
    /// Where this request's session stands against the store.
    enum State {
        /// Nothing stored for it: none was asked for, the client's was unknown or expired, or
        /// this request deleted it. A save stores it under `id` (made when first needed).
        case fresh(id: SessionID?)
        /// Stored under `id`, at `revision` (as the store named it) when last read or written.
        case stored(id: SessionID, revision: UInt64?)
    }

    /// The keys a request set or removed since its last save.
    struct Changes {
        var assigned: Set<String> = []
        var removed: Set<String> = []
        var isEmpty: Bool { assigned.isEmpty && removed.isEmpty }

        mutating func record(_ key: String, removed isRemoved: Bool) {
            // Each set operation hashes the key: skip the one that cannot find it.
            if isRemoved {
                removed.insert(key)
                if !assigned.isEmpty { assigned.remove(key) }
            } else {
                assigned.insert(key)
                if !removed.isEmpty { removed.remove(key) }
            }
        }
    }

    private let backend: any SessionBackend
    private let settings: SessionMiddlewareSettings
    // The variables marked `@exclusivity(unchecked)` skip Swift's run-time exclusivity check, which
    // cost 3–6 % of a request's instructions across these objects. Each is read or assigned
    // whole, or changed by a call whose closure does not touch this object, and no access to one
    // is held while other code runs: keep it so when changing them.
    @exclusivity(unchecked) private var state: State = .fresh(id: nil)
    @exclusivity(unchecked) private var values: [String: SessionValue] = [:]
    @exclusivity(unchecked) private var changes = Changes()
    /// The id the client holds: the cookie it sent, or the one this request set.
    @exclusivity(unchecked) private var clientID: SessionID?
    /// Whether the session read was old enough to be touched and its cookie sent again.
    @exclusivity(unchecked) private var refreshDue = false
    /// Whether a stored session was read: the answer then depends on it.
    @exclusivity(unchecked) private var readStored = false
    /// The store's hold on the stored session for this request, for a store that holds them
    /// (``SessionHolding``): its load and save go through it.
    @exclusivity(unchecked) private var hold: (any SessionHold)?
    /// The id the hold is on.
    @exclusivity(unchecked) private var heldID: SessionID?

    init(backend: any SessionBackend, settings: SessionMiddlewareSettings) {
        self.backend = backend
        self.settings = settings
    }

    /// Loads the first session the client's ids name that is stored and usable: the client may
    /// send several cookies of the session's name (one tossed in by a sibling domain, say), and
    /// an unknown one before the real one must not log its user out. An unknown, expired or
    /// unreadable session is passed over, and with none left this one stays fresh (it gets a
    /// new id when saved); `log` hears why.
    func start(clientIDs ids: [SessionID], log: (String) -> Void) throws {
        for id in ids {
            let stored: StoredSession?
            do {
                if let holding = backend.holding {
                    hold = try holding.hold(id)
                    heldID = id
                    stored = try hold?.load()
                } else {
                    stored = try backend.load(id)
                }
            } catch SessionError.unreadable(let reason) {
                log("session \(id.tag) replaced by a fresh one: \(reason)")
                end()
                continue
            }
            guard let stored, try adopt(stored, id: id, log: log) else {
                end()
                continue
            }
            clientID = id
            if let maxAge = settings.cookie.maxAge, settings.clock.now - stored.modifiedAt > maxAge / 8 { refreshDue = true }
            return
        }
    }

    /// Makes `stored`, the session `id`, this request's session if it has not expired; an
    /// expired one is removed. False, with the reason told to `log`, when it cannot be used.
    private func adopt(_ stored: StoredSession, id: SessionID, log: (String) -> Void) throws -> Bool {
        let now = settings.clock.now
        if now - stored.modifiedAt > settings.idleTimeout {
            log("session \(id.tag) expired after \(now - stored.modifiedAt) s idle (limit \(settings.idleTimeout) s)")
            try backend.delete(id)
            return false
        }
        if let lifetime = settings.absoluteTimeout, now - stored.createdAt > lifetime {
            log("session \(id.tag) expired \(now - stored.createdAt) s after it began (limit \(lifetime) s)")
            try backend.delete(id)
            return false
        }
        state = .stored(id: id, revision: stored.revision)
        values = stored.values
        changes = Changes()
        readStored = true
        return true
    }

    /// The session's id; a new session gets one now (it reaches the client when saved).
    ///
    /// ```swift
    /// let id = session.id.text
    /// ```
    public var id: SessionID {
        switch state {
        case .stored(let id, _), .fresh(let id?): return id
        case .fresh(nil):
            let fresh = settings.idFormat.random()
            state = .fresh(id: fresh)
            return fresh
        }
    }

    /// The value under `key`; setting one (or nil to remove it) marks the session changed, and
    /// so does changing a value inside one (`session["cart"]?.append(4)`). A value nested
    /// deeper than ``SessionValue/maxDepth`` fails the save; ``set(_:forKey:)`` refuses it at once.
    ///
    /// ```swift
    /// session["visits"] = .int((session["visits"]?.intValue ?? 0) + 1)
    /// ```
    public subscript(key: String) -> SessionValue? {
        get { values[key] }
        set {
            values[key] = newValue
            changes.record(key, removed: newValue == nil)
        }
    }

    /// Removes the value under `key` and returns it.
    ///
    /// ```swift
    /// let old = session.removeValue(forKey: "cart")
    /// ```
    @discardableResult
    public func removeValue(forKey key: String) -> SessionValue? {
        guard let old = values[key] else { return nil }
        self[key] = nil
        return old
    }

    /// The keys, in no particular order.
    public var keys: [String] { Array(values.keys) }
    /// How many values the session holds.
    public var count: Int { values.count }
    /// Whether the session holds no value.
    public var isEmpty: Bool { values.isEmpty }
    /// The whole data, as one object value.
    ///
    /// ```swift
    /// try response.write(session.value.description)   // JSON
    /// ```
    public var value: SessionValue { .object(values) }

    /// The key–value pairs, in no particular order.
    public func makeIterator() -> Dictionary<String, SessionValue>.Iterator { values.makeIterator() }

    /// Saves the session now (it is also saved when the request ends, if changed and not empty).
    ///
    /// The save hands the store this request's changes, which it applies to the session as
    /// stored now, so a concurrent request's changes to other keys survive; a session another
    /// request deleted or cycled meanwhile stays gone. Throws ``SessionError/coding(_:)`` for a
    /// value nested deeper than ``SessionValue/maxDepth``, and saves nothing then.
    ///
    /// ```swift
    /// session["step"] = 2
    /// try session.save()
    /// ```
    public func save() throws {
        for key in changes.assigned { try values[key]?.checkDepth(under: key) }
        let now = settings.clock.now
        switch state {
        case .fresh(let id):
            guard !values.isEmpty else { break }
            state = .stored(id: try create(under: id ?? settings.idFormat.random(), at: now), revision: nil)
        case .stored(let id, let revision):
            var assigned: [String: SessionValue] = [:]
            for key in changes.assigned { assigned[key] = values[key] }
            let update = SessionChanges(kind: .update(basedOn: revision), set: assigned, removed: changes.removed,
                                        whole: values, time: now)
            let outcome = if let hold, heldID == id { try hold.apply(update) } else { try backend.apply(update, to: id) }
            switch outcome {
            case .applied(let newRevision): state = .stored(id: id, revision: newRevision)
            case .gone, .exists:
                // Deleted or cycled by another request: its decision stands.
                values = [:]
                state = .fresh(id: nil)
            }
        }
        changes = Changes()
        refreshDue = false
    }

    /// Stores the values as a new session under `id`, or under another fresh id should that one
    /// be taken; returns the id used.
    private func create(under id: SessionID, at now: Int) throws -> SessionID {
        var id = id
        while true {
            let creation = SessionChanges(kind: .create(createdAt: now), set: values, removed: [], whole: values, time: now)
            if case .applied = try backend.apply(creation, to: id) {
                settings.sessionsCreated.add(1, ordering: .relaxed)
                return id
            }
            id = settings.idFormat.random()
        }
    }

    /// Gives the session a new id and a new CSRF token, keeping its other data, and removes the
    /// old id from the store. Do this when privileges change (a login), so that an id or a
    /// token known before is worth nothing after.
    ///
    /// ```swift
    /// try session.cycle()
    /// session["user"] = "ann"
    /// ```
    public func cycle() throws {
        values[Self.csrfKey] = nil
        for key in values.keys { try values[key]?.checkDepth(under: key) }
        let old: SessionID?
        if case .stored(let id, _) = state { old = id } else { old = nil }
        if values.isEmpty {
            state = .fresh(id: nil)
        } else {
            state = .stored(id: try create(under: settings.idFormat.random(), at: settings.clock.now), revision: nil)
        }
        changes = Changes()
        refreshDue = false
        if let old { try backend.delete(old) }
    }

    /// Switches this request to the stored session `id`, for a service that passes the id by
    /// other means than the cookie. The client is sent the new id.
    ///
    /// Throws ``SessionError/unknownId`` if there is no such session, or it expired.
    ///
    /// ```swift
    /// try session.load(id: idFromTheOtherService)
    /// ```
    public func load(id: SessionID) throws {
        guard let stored = try backend.load(id), try adopt(stored, id: id, log: { _ in }) else { throw SessionError.unknownId }
    }

    /// Removes the session from the store and tells the client to drop its cookie.
    ///
    /// ```swift
    /// try session.delete()   // logout
    /// ```
    public func delete() throws {
        if case .stored(let id, _) = state { try backend.delete(id) }
        values = [:]
        changes = Changes()
        state = .fresh(id: nil)
        refreshDue = false
    }

    /// The one commit point: saves what changed, touches a session due for a refresh, and tells
    /// the client its id, or to forget it, with the cache headers that go with a session. Run
    /// just before the headers leave, and again when the handler returns, for changes made after
    /// them; a change then that needs a new cookie cannot reach the client and is not saved, and
    /// `log` hears so.
    func commit(to response: Response, log: (String) -> Void) throws {
        let storedID: SessionID?
        if response.headersSent {
            guard !changes.isEmpty else { return }
            if case .stored(let id, _) = state, id == clientID {
                try save()
            } else {
                log("session changed after the response headers were sent: a new session cannot reach the client, not saved")
            }
            return
        }
        if !changes.isEmpty { try save() }
        if case .stored(let id, _) = state { storedID = id } else { storedID = nil }
        if refreshDue, let storedID { try backend.touch(storedID, at: settings.clock.now) }
        // The answer depends on the session: no shared cache may give it to another client.
        try response.vary(by: "Cookie")
        guard storedID != clientID || refreshDue else {
            if readStored, response.header("Cache-Control") == nil { try response.addHeader("Cache-Control", "private") }
            return
        }
        if let storedID {
            try response.setCookie(settings.cookie.cookie(for: storedID))
        } else {
            try response.setCookie(settings.cookie.expiredCookie())
        }
        if response.header("Cache-Control") == nil { try response.addHeader("Cache-Control", "no-store") }
        clientID = storedID
        refreshDue = false
    }

    /// Lets go of the store's hold, at the end of the request.
    func end() {
        hold?.release()
        hold = nil
        heldID = nil
    }
}
