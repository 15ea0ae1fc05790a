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

    /// Loads the session the client's id names. An unknown, expired or unreadable session
    /// leaves this one empty (it gets a new id when saved); `log` hears why.
    func start(clientID id: SessionID?, log: (String) -> Void) throws {
        guard let id else { return }
        let stored: StoredSession?
        do {
            lease = try backend.lease(id)
            stored = try lease.map { try backend.load(id, within: $0) } ?? backend.load(id)
        } catch SessionError.unreadable(let reason) {
            log("session replaced by a fresh one: \(reason)")
            return
        }
        guard let stored else { return }
        let now = settings.clock.now
        if now - stored.modifiedAt > settings.idleTimeout {
            log("session expired after \(now - stored.modifiedAt) s idle (limit \(settings.idleTimeout) s)")
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
            storedBytes = stored.data
        } catch {
            log("session replaced by a fresh one: its data is not a JSON object (\(error))")
            return
        }
        clientID = id
        currentID = id
        cameFromBackend = true
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
                return self.encodeForStore(self.data)
            }
            if let read = self.storedBytes, read == current.data {
                // Unchanged since this request read it: its changes are all there is to merge.
                return self.encodeForStore(self.data)
            }
            var merged = (try? JSON.decode(current.data))?.objectValue ?? [:]
            for key in self.changedKeys { merged[key] = self.data[key] }
            for key in self.removedKeys { merged[key] = nil }
            return self.encodeForStore(merged)
        }
        // A new session's id is fresh: its record is created without a look for one first.
        let created = try !cameFromBackend && backend.create(id, data: encodeForStore(data))
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

    /// Makes `merged` the session's data and the bytes to store.
    private func encodeForStore(_ merged: [String: SessionValue]) -> [UInt8] {
        let bytes = JSON.encode(.object(merged))
        data = merged
        storedBytes = bytes
        return bytes
    }

    private func clearChanges() {
        changedKeys = []
        removedKeys = []
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
    /// Throws ``SessionError/unknownId`` if there is no such session.
    ///
    /// ```swift
    /// try session.load(id: idFromTheOtherService)
    /// ```
    public func load(id: SessionID) throws {
        guard let stored = try backend.load(id),
              case .object(let members) = try? JSON.decode(stored.data) else { throw SessionError.unknownId }
        data = members
        storedBytes = stored.data
        currentID = id
        clearChanges()
        cameFromBackend = true
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
        guard cookieDue || expireDue else { return }
        if cookieDue, let currentID {
            try response.setCookie(settings.cookie.cookie(for: currentID))
        } else {
            try response.setCookie(settings.cookie.expiredCookie())
        }
        if response.header("Cache-Control") == nil { try response.addHeader("Cache-Control", "no-store") }
        if response.header("Vary") == nil { try response.addHeader("Vary", "Cookie") }
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
