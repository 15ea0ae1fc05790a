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

    let backend: any SessionBackend
    let settings: SessionMiddlewareSettings
    /// The request this session is for: its client's address and browser name an old id's
    /// forward (see ``cycle()``). Nil only for a session made outside a request, in tests.
    private unowned let request: Request?
    // The variables marked `@exclusivity(unchecked)` skip Swift's run-time exclusivity check, which
    // cost 3–6 % of a request's instructions across these objects. Each is read or assigned
    // whole, or changed by a call whose closure does not touch this object, and no access to one
    // is held while other code runs: keep it so when changing them.
    @exclusivity(unchecked) private var state: State = .fresh(id: nil)
    @exclusivity(unchecked) private(set) var values: [String: SessionValue] = [:]
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
    /// The extra lifetime of a remembered session, in seconds (0 for any other): read once when
    /// the session is, set at a login.
    @exclusivity(unchecked) var extraLifetime = 0
    /// Whether this request logged the session in: its next save records the user in the
    /// store's index of users' sessions.
    @exclusivity(unchecked) var userRecorded = false

    init(backend: any SessionBackend, settings: SessionMiddlewareSettings, request: Request? = nil) {
        self.backend = backend
        self.settings = settings
        self.request = request
    }

    /// Loads the first session the client's ids name that is stored and usable: the client may
    /// send several cookies of the session's name (one tossed in by a sibling domain, say), and
    /// an unknown one before the real one must not log its user out. An unknown, expired or
    /// unreadable session is passed over, and with none left this one stays fresh (it gets a
    /// new id when saved); `log` hears why. An id cycled away in the last moments forwards to
    /// its successor (see ``cycle()``), which the client is then given.
    func start(clientIDs ids: [SessionID], log: (String) -> Void) throws {
        for id in ids {
            guard var stored = try fetch(id, log: log) else { continue }
            var storedID = id
            if stored.isForward {
                end()
                guard let forward = SessionForward(stored.values, format: settings.idFormat),
                      let successor = try follow(forward, from: id, log: log) else { continue }
                (storedID, stored) = successor
            }
            guard try adopt(stored, id: storedID, log: log) else {
                end()
                continue
            }
            clientID = id
            return
        }
    }

    /// The session stored under `id`, held for the request if the store holds sessions; nil
    /// (with the hold let go) if there is none or it is unreadable, which `log` hears.
    private func fetch(_ id: SessionID, log: (String) -> Void) throws -> StoredSession? {
        do {
            let stored: StoredSession?
            if let holding = backend.holding {
                hold = try holding.hold(id)
                heldID = id
                stored = try hold?.load()
            } else {
                stored = try backend.load(id)
            }
            if stored == nil { end() }
            return stored
        } catch SessionError.unreadable(let reason) {
            log("session \(id.tag) replaced by a fresh one: \(reason)")
            end()
            return nil
        }
    }

    /// The session an old id forwards to, if the forward still stands for this client: once, to
    /// a session that is itself no forward. An expired forward is removed.
    private func follow(_ forward: SessionForward, from id: SessionID, log: (String) -> Void) throws -> (SessionID, StoredSession)? {
        let now = settings.clock.now
        guard now <= forward.until else {
            log("session \(id.tag) was cycled away: its grace period ended \(now - forward.until) s ago")
            try backend.delete(id)
            return nil
        }
        guard forward.client == SessionForward.fingerprint(of: request) else {
            log("session \(id.tag) was cycled: its forward is for another client")
            return nil
        }
        guard let stored = try fetch(forward.successor, log: log), !stored.isForward else {
            end()
            return nil
        }
        return (forward.successor, stored)
    }

    /// Makes `stored`, the session `id` (no forward: the caller follows those), this request's
    /// session if it has not expired; an expired one is removed. False, with the reason told to
    /// `log`, when it cannot be used. One old enough is due for a refresh: touched, and its
    /// cookie sent again.
    private func adopt(_ stored: StoredSession, id: SessionID, log: (String) -> Void) throws -> Bool {
        let now = settings.clock.now
        let extra = Self.rememberedExtension(of: stored.values)
        let idle = now - (stored.modifiedAt - extra), limit = settings.idleTimeout + extra
        if idle > limit {
            log("session \(id.tag) expired after \(idle) s idle (limit \(limit) s)")
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
        extraLifetime = extra
        if let lifetime = cookieMaxAge, idle > lifetime / 8 { refreshDue = true }
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
        switch state {
        case .fresh(let id):
            guard !values.isEmpty else { break }
            state = .stored(id: try create(under: id ?? settings.idFormat.random()), revision: nil)
        case .stored(let id, let revision):
            var assigned: [String: SessionValue] = [:]
            for key in changes.assigned { assigned[key] = values[key] }
            let update = SessionChanges(kind: .update(basedOn: revision), set: assigned, removed: changes.removed,
                                        whole: values, time: storeTime, user: userRecorded ? user : nil)
            switch try apply(update, to: id) {
            case .applied(let newRevision): state = .stored(id: id, revision: newRevision)
            case .gone, .exists:
                // Deleted or cycled by another request: its decision stands.
                values = [:]
                state = .fresh(id: nil)
                extraLifetime = 0
            }
        }
        changes = Changes()
        refreshDue = false
        userRecorded = false
    }

    /// Stores the values as a new session under `id`, or under another fresh id should that one
    /// be taken; returns the id used. A logged-in session's new id (a cycle) goes into the
    /// store's index of its user's sessions.
    private func create(under id: SessionID) throws -> SessionID {
        var id = id
        while true {
            let creation = SessionChanges(kind: .create(createdAt: settings.clock.now), set: values, removed: [], whole: values,
                                          time: storeTime, user: user)
            if case .applied = try backend.apply(creation, to: id) {
                settings.sessionsCreated.add(1, ordering: .relaxed)
                return id
            }
            id = settings.idFormat.random()
        }
    }

    /// Gives the session a new id and a new CSRF token, keeping its other data, and ends the
    /// old id. Do this when privileges change (a login), so that an id or a token known before
    /// is worth nothing after.
    ///
    /// For the middleware's `cycleGracePeriod` (30 s unless set; 0 turns it off) the old id
    /// forwards: a request already on its way with it, from the same address and browser, gets
    /// this session and its new cookie rather than a fresh empty session. The old id holds
    /// nothing else: it cannot be saved under, cycled or forwarded again, and a logout of the
    /// new session leaves it forwarding to nothing.
    ///
    /// ```swift
    /// try session.cycle()
    /// session["user"] = "ann"
    /// ```
    public func cycle() throws {
        values[Self.csrfKey] = nil
        for key in values.keys { try values[key]?.checkDepth(under: key) }
        let old: (id: SessionID, revision: UInt64?)?
        if case .stored(let id, let revision) = state { old = (id, revision) } else { old = nil }
        var successor: SessionID?
        if values.isEmpty {
            state = .fresh(id: nil)
        } else {
            let id = try create(under: settings.idFormat.random())
            state = .stored(id: id, revision: nil)
            successor = id
        }
        let removed = Set(values.keys).union(changes.removed).union([Self.csrfKey])
        changes = Changes()
        refreshDue = false
        guard let old else { return }
        guard let successor, settings.cycleGracePeriod > 0 else { return try backend.delete(old.id) }
        // The old id keeps only its forward (the keys another request added meanwhile too, which
        // no request reads again).
        let forward = SessionForward(successor: successor, until: settings.clock.now + settings.cycleGracePeriod,
                                     client: SessionForward.fingerprint(of: request))
        // Stamped as if last used the idle timeout less the grace period ago: every store's own
        // expiry (the file store's collection, Redis's TTL) removes it as the grace period ends.
        let stub = SessionChanges(kind: .update(basedOn: old.revision), set: [SessionForward.key: forward.value],
                                  removed: removed, whole: [SessionForward.key: forward.value],
                                  time: settings.clock.now - settings.idleTimeout + settings.cycleGracePeriod)
        _ = try apply(stub, to: old.id)
    }

    /// Applies `changes` to the stored session `id`: through the request's hold when it holds
    /// that session, else through the store.
    private func apply(_ changes: SessionChanges, to id: SessionID) throws -> SessionChanges.Outcome {
        if let hold, heldID == id { try hold.apply(changes) } else { try backend.apply(changes, to: id) }
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
        guard let stored = try backend.load(id), !stored.isForward, try adopt(stored, id: id, log: { _ in }) else {
            throw SessionError.unknownId
        }
    }

    /// Removes the session from the store and tells the client to drop its cookie.
    ///
    /// ```swift
    /// try session.delete()   // logout
    /// ```
    public func delete() throws {
        if case .stored(let id, _) = state { try backend.delete(id, loggedInAs: user) }
        values = [:]
        changes = Changes()
        state = .fresh(id: nil)
        refreshDue = false
        extraLifetime = 0
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
        if refreshDue, let storedID { try backend.touch(storedID, at: storeTime) }
        // The answer depends on the session: no shared cache may give it to another client.
        try response.vary(by: "Cookie")
        guard storedID != clientID || refreshDue else {
            if readStored, response.header("Cache-Control") == nil { try response.addHeader("Cache-Control", "private") }
            return
        }
        if let storedID {
            var cookie = settings.cookie.cookie(for: storedID)
            cookie.maxAge = cookieMaxAge
            try response.setCookie(cookie)
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
