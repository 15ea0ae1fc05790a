/// Where sessions are stored: a place that keeps bytes under a session id.
///
/// The session serialises its data (JSON) and hands the bytes to the backend; the backend
/// keeps them with the time they were last saved or touched. Conform to write your own:
///
/// ```swift
/// final class LoggingBackend: SessionBackend {
///     let inner = MemoryBackend(size: 100)
///     func load(_ id: SessionID) throws -> StoredSession? { print("load \(id)"); return try inner.load(id) }
///     func save(_ id: SessionID, data: [UInt8]) throws { try inner.save(id, data: data) }
///     func delete(_ id: SessionID) throws { try inner.delete(id) }
///     func touch(_ id: SessionID) throws { try inner.touch(id) }
///     func keys() throws -> [SessionID] { try inner.keys() }
/// }
/// ```
public protocol SessionBackend: Sendable {
    /// The stored session, or nil if there is none; throws ``SessionError/unreadable(_:)`` for one
    /// that cannot be used (corrupt, foreign-owned), which the request replaces with a fresh one.
    func load(_ id: SessionID) throws -> StoredSession?
    /// Stores `data` under `id`, replacing what was there, and marks it modified now.
    func save(_ id: SessionID, data: [UInt8]) throws
    /// Removes the session; removing a missing one is not an error.
    func delete(_ id: SessionID) throws
    /// Marks the session modified now without rewriting its data.
    func touch(_ id: SessionID) throws
    /// Every stored id.
    func keys() throws -> [SessionID]
    /// Replaces the stored data with what `merge` makes of the current session (nil if none is
    /// stored), atomically with respect to other updates of the same session; when `merge`
    /// returns nil, nothing is written. The default loads and saves, which is not atomic:
    /// backends that can, override it.
    func update(_ id: SessionID, _ merge: (StoredSession?) throws -> [UInt8]?) throws
    /// Stores `data` under `id` only if no session is stored there, and says whether it did: how
    /// a new session's first save stores it under its fresh random id. The default is an
    /// ``update(_:_:)`` that writes over nothing.
    func create(_ id: SessionID, data: [UInt8]) throws -> Bool
    /// Takes what the request needs to hold on a stored session until the lease ends (at the end
    /// of the request): an exclusive lock, an open file. Nil for a backend that holds nothing; for
    /// a session that is not stored, nil or a lease under which ``load(_:within:)`` gives nil.
    /// Throws ``SessionError/lockTimeout`` when it waited too long.
    func lease(_ id: SessionID) throws -> (any SessionLease)?
    /// ``load(_:)`` within a lease this backend gave; the default ignores the lease.
    func load(_ id: SessionID, within lease: any SessionLease) throws -> StoredSession?
    /// ``update(_:_:)`` within a lease this backend gave; the default ignores the lease.
    func update(_ id: SessionID, within lease: any SessionLease, _ merge: (StoredSession?) throws -> [UInt8]?) throws
    /// Removes sessions idle since before `olderThan` (seconds since 1970), at most `limit` of
    /// them, and returns how many went. A pass may also bound how much it looks at, if passes
    /// together reach every session (``FileBackend`` goes on where the last pass stopped).
    func collectGarbage(olderThan time: Int, limit: Int) throws -> Int
}

/// An exclusive hold on one session, from ``SessionBackend/lease(_:)``.
///
/// ```swift
/// if let lease = try backend.lease(id) { defer { lease.end() } /* read, change, save */ }
/// ```
public protocol SessionLease: AnyObject {
    /// Lets the session go.
    func end()
}

extension SessionBackend {
    /// Loads, merges and saves: not atomic. Override it where the store can lock.
    ///
    /// ```swift
    /// try backend.update(id) { current in Array("{\"n\":1}".utf8) }
    /// ```
    public func update(_ id: SessionID, _ merge: (StoredSession?) throws -> [UInt8]?) throws {
        if let data = try merge(try load(id)) { try save(id, data: data) }
    }

    /// An ``update(_:_:)`` that writes only where nothing is stored.
    ///
    /// ```swift
    /// let stored = try backend.create(SessionID.random(), data: Array("{\"n\":1}".utf8))   // true
    /// ```
    public func create(_ id: SessionID, data: [UInt8]) throws -> Bool {
        var created = false
        try update(id) { current in
            created = current == nil
            return created ? data : nil
        }
        return created
    }

    /// No lease: the backend holds nothing between a request's calls.
    ///
    /// ```swift
    /// let lease = try backend.lease(id)   // nil
    /// ```
    public func lease(_ id: SessionID) throws -> (any SessionLease)? { nil }

    /// ``load(_:)``, ignoring the lease.
    ///
    /// ```swift
    /// let stored = try backend.load(id, within: lease)
    /// ```
    public func load(_ id: SessionID, within lease: any SessionLease) throws -> StoredSession? {
        try load(id)
    }

    /// ``update(_:_:)``, ignoring the lease.
    ///
    /// ```swift
    /// try backend.update(id, within: lease) { _ in data }
    /// ```
    public func update(_ id: SessionID, within lease: any SessionLease, _ merge: (StoredSession?) throws -> [UInt8]?) throws {
        try update(id, merge)
    }

    /// Deletes up to `limit` of ``keys(olderThan:)``.
    ///
    /// ```swift
    /// let removed = try backend.collectGarbage(olderThan: now - 1440, limit: 1000)
    /// ```
    public func collectGarbage(olderThan time: Int, limit: Int) throws -> Int {
        let stale = try keys(olderThan: time).prefix(limit)
        for id in stale { try delete(id) }
        return stale.count
    }

    /// When the session was last saved or touched, in seconds since 1970; nil if it is not stored.
    ///
    /// ```swift
    /// if let modified = try backend.modifiedAt(id) { print(modified) }
    /// ```
    public func modifiedAt(_ id: SessionID) throws -> Int? {
        try load(id)?.modifiedAt
    }

    /// The ids of sessions last modified before `time` (seconds since 1970).
    ///
    /// ```swift
    /// let stale = try backend.keys(olderThan: now - 1440)
    /// ```
    public func keys(olderThan time: Int) throws -> [SessionID] {
        try keys().filter { (try modifiedAt($0)).map { $0 < time } ?? false }
    }
}

/// A session as a backend returns it.
///
/// ```swift
/// let stored = StoredSession(data: Array("{}".utf8), createdAt: 0, modifiedAt: 0)
/// ```
public struct StoredSession: Sendable, Equatable {
    /// The serialised data.
    public var data: [UInt8]
    /// When the session was first saved, in seconds since 1970.
    public var createdAt: Int
    /// When it was last saved or touched, in seconds since 1970.
    public var modifiedAt: Int

    /// Makes a stored session.
    ///
    /// ```swift
    /// let stored = StoredSession(data: Array(#"{"n":1}"#.utf8), createdAt: 1_800_000_000, modifiedAt: 1_800_000_060)
    /// ```
    public init(data: [UInt8], createdAt: Int, modifiedAt: Int) {
        self.data = data
        self.createdAt = createdAt
        self.modifiedAt = modifiedAt
    }
}

/// Why a session operation failed.
///
/// ```swift
/// do { try session.load(id: id) } catch SessionError.unknownId { … }
/// ```
public enum SessionError: HTTPStatusError, Equatable, CustomStringConvertible {
    /// `load(id:)` was given an id the backend does not have, or one that is not an id.
    case unknownId
    /// Another request held the session longer than the exclusive lock's timeout: 503.
    case lockTimeout(seconds: Double)
    /// The stored session cannot be used (corrupt, foreign-owned, a symbolic link): the request
    /// gets a fresh session, and the cause is logged.
    case unreadable(String)
    /// The backend could not do what was asked; the string says what and why.
    case backendFailed(String)
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
        case .backendFailed(let reason): "session backend failed: \(reason)"
        case .coding(let reason): "session data: \(reason)"
        }
    }
}
