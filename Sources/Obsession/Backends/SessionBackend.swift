/// Where sessions are stored: the four things every store does.
///
/// A store keeps each session's values with the times it began and was last used, in an
/// encoding of its own (the file store writes JSON records). A request's save hands it what
/// changed, never a finished blob: the store applies that atomically its own way, so that two
/// requests changing different keys of one session both win, and a session deleted meanwhile
/// stays deleted. What a store can do beyond the four (hold a session for a whole request,
/// collect expired sessions, list them, index them by user) it declares by conforming to
/// ``SessionHolding``, ``SessionGarbageCollecting``, ``SessionListing`` and
/// ``SessionUserIndexing``, which the properties below then expose. A store is done when it
/// passes the conformance suite in the package's tests.
///
/// ```swift
/// final class DictionaryBackend: SessionBackend, @unchecked Sendable {
///     private let lock = NSLock()
///     private var sessions: [SessionID: StoredSession] = [:]
///
///     func load(_ id: SessionID) throws -> StoredSession? { lock.withLock { sessions[id] } }
///     func apply(_ changes: SessionChanges, to id: SessionID) throws -> SessionChanges.Outcome {
///         lock.withLock {
///             if let refusal = changes.refusal(over: sessions[id]) { return refusal }
///             sessions[id] = changes.result(over: sessions[id])
///             return .applied(revision: nil)
///         }
///     }
///     func delete(_ id: SessionID) throws { lock.withLock { sessions[id] = nil } }
///     func touch(_ id: SessionID, at time: Int) throws { lock.withLock { sessions[id]?.modifiedAt = time } }
/// }
/// ```
public protocol SessionBackend: Sendable {
    /// The session stored under `id`, or nil if there is none. Throws
    /// ``SessionError/unreadable(_:)`` for one that cannot be used (corrupt, foreign-owned),
    /// which the request replaces with a fresh session, and ``SessionError/backendFailed(_:errno:)``
    /// when the store itself fails.
    func load(_ id: SessionID) throws -> StoredSession?

    /// Applies `changes` to the session stored under `id`, atomically with respect to every
    /// other change of that session, and says what became of them: a new session is stored only
    /// where nothing is (else ``SessionChanges/Outcome/exists``), a change to a loaded one only
    /// while it is still stored (else ``SessionChanges/Outcome/gone``: a delete or a cycle
    /// meanwhile stands). ``SessionChanges/result(over:)`` says what to store.
    func apply(_ changes: SessionChanges, to id: SessionID) throws -> SessionChanges.Outcome

    /// Removes the session; removing a missing one is not an error. Once it returns, no change
    /// brings the session back.
    func delete(_ id: SessionID) throws

    /// Marks the session used at `time` (seconds since 1970) without changing its values; does
    /// nothing when none is stored.
    func touch(_ id: SessionID, at time: Int) throws

    /// What this store's ids look like: ``SessionIDFormat/obsession`` unless it shares its
    /// sessions with another language, whose format it then names.
    var idFormat: SessionIDFormat { get }
    /// This store's exclusive holds, if it has them: nil, unless it conforms to ``SessionHolding``.
    var holding: (any SessionHolding)? { get }
    /// This store's garbage collection, if it needs one: nil, unless it conforms to
    /// ``SessionGarbageCollecting``.
    var garbageCollection: (any SessionGarbageCollecting)? { get }
    /// This store's listing of its sessions: nil, unless it conforms to ``SessionListing``.
    var listing: (any SessionListing)? { get }
    /// This store's index of users' sessions: nil, unless it conforms to ``SessionUserIndexing``.
    var userIndex: (any SessionUserIndexing)? { get }

    /// Checks that the store works, for the status page: throws what is wrong (a Redis server
    /// out of reach, a directory that cannot be written). The default loads an id nobody has.
    func checkHealth() throws
    /// How many sessions the store holds, where that is cheap to tell (memory); nil elsewhere.
    var sessionCount: Int? { get }
}

extension SessionBackend {
    /// Ours: 40 characters of `A-Za-z0-9.-`.
    public var idFormat: SessionIDFormat { .obsession }
    /// None: the store conforms to no ``SessionHolding``.
    public var holding: (any SessionHolding)? { nil }
    /// None: the store conforms to no ``SessionGarbageCollecting``.
    public var garbageCollection: (any SessionGarbageCollecting)? { nil }
    /// None: the store conforms to no ``SessionListing``.
    public var listing: (any SessionListing)? { nil }
    /// None: the store conforms to no ``SessionUserIndexing``.
    public var userIndex: (any SessionUserIndexing)? { nil }

    /// Loads an id nobody has: a store that answers that is reachable.
    ///
    /// ```swift
    /// do { try backend.checkHealth() } catch { print("store unhealthy: \(error)") }
    /// ```
    public func checkHealth() throws { _ = try load(idFormat.random()) }
    /// Not told: counting would cost.
    public var sessionCount: Int? { nil }
}

extension SessionBackend where Self: SessionHolding {
    /// The store itself.
    public var holding: (any SessionHolding)? { self }
}

extension SessionBackend where Self: SessionGarbageCollecting {
    /// The store itself.
    public var garbageCollection: (any SessionGarbageCollecting)? { self }
}

extension SessionBackend where Self: SessionListing {
    /// The store itself.
    public var listing: (any SessionListing)? { self }
}

extension SessionBackend where Self: SessionUserIndexing {
    /// The store itself.
    public var userIndex: (any SessionUserIndexing)? { self }
}
