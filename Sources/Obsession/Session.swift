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
    // The variables marked `@exclusivity(unchecked)` skip Swift's run-time exclusivity check, which
    // cost 3–6 % of a request's instructions across these objects. Each is read or assigned
    // whole, or changed by a call whose closure does not touch this object, and no access to one
    // is held while other code runs: keep it so when changing them.
    /// The id the client sent, if it named a session that still exists.
    @exclusivity(unchecked) private var clientID: SessionID?
    @exclusivity(unchecked) private var currentID: SessionID?
    @exclusivity(unchecked) private var data: [String: SessionValue] = [:]
    /// Keys this request set (or changed inside) and removed since the last save: what a save
    /// applies to the stored session, so concurrent requests changing other keys keep theirs.
    @exclusivity(unchecked) private var changedKeys: Set<String> = []
    @exclusivity(unchecked) private var removedKeys: Set<String> = []
    /// The stored bytes `data` was read from, before this request's changes. A save that finds
    /// the backend still holding them has nothing to merge: `data` is the result.
    @exclusivity(unchecked) private var storedBytes: [UInt8]?
    /// Whether the data differs from what is stored.
    var changed: Bool { !changedKeys.isEmpty || !removedKeys.isEmpty }
    /// Whether this request read the session from the backend: then a session missing at save
    /// time was deleted or cycled by another request, and is not brought back.
    @exclusivity(unchecked) private var cameFromBackend = false
    /// The exclusive hold on the session, with `Locking.exclusive`.
    @exclusivity(unchecked) private var lease: (any SessionLease)?
    /// Whether the client must be sent the session cookie (new id, cycled, loaded, refreshed).
    @exclusivity(unchecked) private var cookieDue = false
    /// Whether the stored session should be touched (rolling refresh).
    @exclusivity(unchecked) private var touchDue = false
    /// Whether the client's cookie must be expired.
    @exclusivity(unchecked) private var expireDue = false

    init(backend: any SessionBackend, settings: SessionMiddlewareSettings) {
        self.backend = backend
        self.settings = settings
    }

    /// Loads the first session the client's ids name that is stored and usable: the client may
    /// send several cookies of the session's name (one tossed in by a sibling domain, say), and
    /// an unknown one before the real one must not log its user out. An unknown, expired or
    /// unreadable session is passed over, and with none left this one stays empty (it gets a new
    /// id when saved); `log` hears why.
    func start(clientIDs ids: [SessionID], log: (String) -> Void) throws {
        for id in ids {
            let stored: StoredSession?
            do {
                let lease = try backend.lease(id)
                stored = try lease.map { try backend.load(id, within: $0) } ?? backend.load(id)
                if stored == nil { lease?.end() } else { self.lease = lease }
            } catch SessionError.unreadable(let reason) {
                log("session \(id.tag) replaced by a fresh one: \(reason)")
                continue
            }
            guard let stored, try adopt(stored, id: id, log: log) else {
                end()
                continue
            }
            clientID = id
            if let maxAge = settings.cookie.maxAge, settings.clock.now - stored.modifiedAt > maxAge / 8 {
                touchDue = true
                cookieDue = true
            }
            return
        }
    }

    /// Makes `stored`, the session `id`, this request's session, if it has not expired and its
    /// data is a JSON object; an expired one is removed. False, with the reason told to `log`,
    /// when it cannot be used.
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
        guard case .object(let members) = try? JSON.decode(stored.data) else {
            log("session \(id.tag) replaced by a fresh one: its data is not a JSON object")
            return false
        }
        data = members
        storedBytes = stored.data
        currentID = id
        clearChanges()
        cameFromBackend = true
        return true
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
            // Each set operation hashes the key: skip the one that cannot find it.
            if newValue == nil {
                removedKeys.insert(key)
                if !changedKeys.isEmpty { changedKeys.remove(key) }
            } else {
                changedKeys.insert(key)
                if !removedKeys.isEmpty { removedKeys.remove(key) }
            }
        }
    }

    /// Removes the value under `key` and returns it.
    ///
    /// ```swift
    /// let old = session.removeValue(forKey: "cart")
    /// ```
    @discardableResult
    public func removeValue(forKey key: String) -> SessionValue? {
        guard let old = data[key] else { return nil }
        self[key] = nil
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
    /// The save applies this request's changes to the session as stored now, so a concurrent
    /// request's changes to other keys survive; a session another request deleted or cycled
    /// meanwhile stays gone.
    ///
    /// ```swift
    /// session["step"] = 2
    /// try session.save()
    /// ```
    public func save() throws {
        if data.isEmpty && !cameFromBackend {
            clearChanges()
            return
        }
        let id = self.id
        var vanished = false
        let merge = { (current: StoredSession?) throws -> [UInt8]? in
            guard let current else {
                if self.cameFromBackend {
                    vanished = true
                    return nil
                }
                return try self.encodeForStore(self.data)
            }
            if let read = self.storedBytes, read == current.data {
                // Unchanged since this request read it: its changes are all there is to merge.
                return try self.encodeForStore(self.data)
            }
            var merged = (try? JSON.decode(current.data))?.objectValue ?? [:]
            for key in self.changedKeys { merged[key] = self.data[key] }
            for key in self.removedKeys { merged[key] = nil }
            return try self.encodeForStore(merged)
        }
        // A new session's id is fresh: its record is created without a look for one first.
        let created = try !cameFromBackend && backend.create(id, data: encodeForStore(data))
        if created { settings.sessionsCreated.add(1, ordering: .relaxed) }
        if !created {
            if let lease, id == clientID {
                try backend.update(id, within: lease, merge)
            } else {
                try backend.update(id, merge)
            }
        }
        clearChanges()
        touchDue = false
        if vanished {
            // Deleted or cycled by another request: its decision stands.
            data = [:]
            storedBytes = nil
            currentID = nil
            cameFromBackend = false
            return
        }
        cameFromBackend = true
        if id != clientID {
            cookieDue = true
            expireDue = false
        }
    }

    /// Makes `merged` the session's data and the bytes to store. Throws
    /// ``SessionError/coding(_:)`` for a value nested deeper than a session can be read back.
    private func encodeForStore(_ merged: [String: SessionValue]) throws(SessionError) -> [UInt8] {
        let bytes: [UInt8]
        do {
            bytes = try JSON.encode(.object(merged))
        } catch {
            throw .coding(error.description)
        }
        data = merged
        storedBytes = bytes
        return bytes
    }

    private func clearChanges() {
        changedKeys = []
        removedKeys = []
    }

    /// Gives the session a new id and a new CSRF token, keeping its other data, and removes the
    /// old id from the backend. Do this when privileges change (a login), so that an id or a
    /// token known before is worth nothing after.
    ///
    /// ```swift
    /// try session.cycle()
    /// session["user"] = "ann"
    /// ```
    public func cycle() throws {
        let old = currentID
        currentID = SessionID.random()
        data[Self.csrfKey] = nil
        if !data.isEmpty {
            try backend.save(currentID!, data: encodeForStore(data))
            clearChanges()
            cookieDue = true
            cameFromBackend = true
        } else {
            cameFromBackend = false
            storedBytes = nil
        }
        if let old { try backend.delete(old) }
        touchDue = false
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
        cookieDue = id != clientID
    }

    /// Removes the session from the backend and tells the client to drop its cookie.
    ///
    /// ```swift
    /// try session.delete()   // logout
    /// ```
    public func delete() throws {
        data = [:]
        storedBytes = nil
        clearChanges()
        if let currentID { try backend.delete(currentID) }
        if clientID != nil || cookieDue { expireDue = true }
        currentID = nil
        clientID = nil
        cookieDue = false
        touchDue = false
        cameFromBackend = false
    }

    /// Lets go of the exclusive hold, at the end of the request.
    func end() {
        lease?.end()
        lease = nil
    }

    /// Saves what changed and sets or expires the cookie, while the headers can still change.
    func commit(to response: Response) throws {
        if changed { try save() }
        if touchDue, let currentID {
            try backend.touch(currentID)
            touchDue = false
        }
        // The answer depends on the session: a shared cache must not give it to another client.
        try response.vary(by: "Cookie")
        guard cookieDue || expireDue else {
            if cameFromBackend, response.header("Cache-Control") == nil { try response.addHeader("Cache-Control", "private") }
            return
        }
        if cookieDue, let currentID {
            try response.setCookie(settings.cookie.cookie(for: currentID))
        } else {
            try response.setCookie(settings.cookie.expiredCookie())
        }
        if response.header("Cache-Control") == nil { try response.addHeader("Cache-Control", "no-store") }
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
