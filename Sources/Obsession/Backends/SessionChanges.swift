/// What one save of a request changed, as a store applies it: the keys set with their values,
/// the keys removed, and the time.
///
/// Merging happens here, once for every store, and at the top level only: a key this request
/// set replaces the stored value whole, a key it removed goes, and every other key stays as
/// stored, so that concurrent requests changing different keys both win. Values are never
/// merged inside (a date deep-merged into `{}` is how connect-redis once lost sessions).
///
/// ```swift
/// let changes = SessionChanges(kind: .update(basedOn: nil), set: ["n": 2], removed: ["flash"],
///                              whole: ["n": 2, "user": "ann"], time: 1_800_000_060)
/// let stored = changes.result(over: StoredSession(values: ["n": 1, "flash": "hi", "user": "bob"],
///                                                 createdAt: 1_800_000_000, modifiedAt: 1_800_000_000))
/// // stored.values == ["n": 2, "user": "bob"]: the other request's change of "user" stands
/// ```
public struct SessionChanges: Sendable, Equatable {
    /// Which session the changes are for.
    public enum Kind: Sendable, Equatable {
        /// A new session under a fresh id, begun at `createdAt`: stored only where nothing is.
        case create(createdAt: Int)
        /// The session the request loaded, at revision `basedOn` (nil if the store gives none):
        /// applied only while it is still stored.
        case update(basedOn: UInt64?)
    }

    /// What a store did with the changes.
    public enum Outcome: Sendable, Equatable {
        /// Stored; `revision` names the new version, for a store that keeps revisions.
        case applied(revision: UInt64?)
        /// Not stored: the session was deleted or cycled meanwhile, and that stands.
        case gone
        /// Not stored: a new session's id is taken.
        case exists
    }

    /// Which session the changes are for.
    public var kind: Kind
    /// The keys the request set, with their values.
    public var set: [String: SessionValue]
    /// The keys the request removed.
    public var removed: Set<String>
    /// Every value the request sees: what it read with its changes made. A store writes this as
    /// it is where the stored session is still the revision the request read.
    public var whole: [String: SessionValue]
    /// When the changes were made, in seconds since 1970: the session's new modification time.
    public var time: Int
    /// The user these changes log the session in as, if they do: the store records the id for
    /// that user in its index (``SessionUserIndexing``) when it applies them.
    ///
    /// ```swift
    /// if let user = changes.user { index[user, default: []].insert(id) }
    /// ```
    public var user: String?

    /// Makes a change set.
    ///
    /// ```swift
    /// let changes = SessionChanges(kind: .create(createdAt: now), set: ["n": 1], removed: [], whole: ["n": 1], time: now)
    /// ```
    public init(kind: Kind, set: [String: SessionValue], removed: Set<String>, whole: [String: SessionValue], time: Int) {
        self.init(kind: kind, set: set, removed: removed, whole: whole, time: time, user: set[Session.userKey]?.stringValue)
    }

    /// A change set whose `user` its maker knows (the session: whether this request logged in),
    /// which spares looking it up among the keys set.
    init(kind: Kind, set: [String: SessionValue], removed: Set<String>, whole: [String: SessionValue], time: Int, user: String?) {
        self.kind = kind
        self.set = set
        self.removed = removed
        self.whole = whole
        self.time = time
        self.user = user
    }

    /// The outcome to report without storing anything, given what is stored now: ``Outcome/exists``
    /// for a new session whose id is taken, ``Outcome/gone`` for a loaded one no longer stored;
    /// nil when the changes may be applied.
    ///
    /// ```swift
    /// if let refusal = changes.refusal(over: sessions[id]) { return refusal }
    /// ```
    public func refusal(over stored: StoredSession?) -> Outcome? {
        refusal(isStored: stored != nil)
    }

    /// ``refusal(over:)`` for a store that knows only whether a session is stored.
    ///
    /// ```swift
    /// if let refusal = changes.refusal(isStored: fileExists) { return refusal }
    /// ```
    public func refusal(isStored: Bool) -> Outcome? {
        switch kind {
        case .create: isStored ? .exists : nil
        case .update: isStored ? nil : .gone
        }
    }

    /// The values to store over those stored now, at `revision`: the request's ``whole`` view
    /// when nothing changed since it read them (or for a new session), else the stored values
    /// with this request's keys set and removed. `stored` is called only when it is needed, so a
    /// store can leave its values undecoded when the revision matches.
    ///
    /// ```swift
    /// let values = try changes.values(over: try decode(record), revision: record.checksum)
    /// ```
    public func values(over stored: () throws -> [String: SessionValue], revision: UInt64?) rethrows -> [String: SessionValue] {
        guard case .update(let base) = kind, base == nil || base != revision else { return whole }
        var merged = try stored()
        for (key, value) in set { merged[key] = value }
        for key in removed { merged[key] = nil }
        return merged
    }

    /// The session to store over `stored`: its values (see ``values(over:revision:)``), its
    /// creation time kept (or the new session's), modified at ``time``.
    ///
    /// ```swift
    /// sessions[id] = changes.result(over: sessions[id])
    /// ```
    public func result(over stored: StoredSession?) -> StoredSession {
        let createdAt: Int
        if case .create(let time) = kind { createdAt = time } else { createdAt = stored?.createdAt ?? time }
        return StoredSession(values: values(over: { stored?.values ?? [:] }, revision: stored?.revision),
                             createdAt: createdAt, modifiedAt: time)
    }
}
