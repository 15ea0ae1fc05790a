/// A store that keeps something for a request between its load and its save: an open file,
/// which spares opening the session a second time; an exclusive lock, which makes the requests
/// of one session run one after another, so that a read-modify-write of one key loses nothing.
///
/// ```swift
/// if let hold = try backend.holding?.hold(id) {
///     defer { hold.release() }
///     let stored = try hold.load()
///     // … change, then hold.apply(changes)
/// }
/// ```
public protocol SessionHolding: SessionBackend {
    /// What a request holds: the store's own type, through which it loads and saves.
    associatedtype Hold: SessionHold

    /// Holds session `id` for a request: with an exclusive lock, waits until no other request
    /// holds it. Nil when no session is stored under `id` (no lock is made for an id nobody
    /// issued). Throws ``SessionError/lockTimeout(seconds:)`` after the store's timeout.
    func hold(_ id: SessionID) throws -> Hold?
}

/// One request's hold on a stored session, from ``SessionHolding/hold(_:)``: the session's
/// load and save for the rest of the request go through it.
///
/// ```swift
/// let hold = try backend.holding?.hold(id)
/// let stored = try hold?.load()
/// hold?.release()
/// ```
public protocol SessionHold: AnyObject {
    /// The held session as stored, or nil if it is gone (as ``SessionBackend/load(_:)``).
    func load() throws -> StoredSession?
    /// Applies `changes` to the held session (as ``SessionBackend/apply(_:to:)``).
    func apply(_ changes: SessionChanges) throws -> SessionChanges.Outcome
    /// Lets the session go; the next request waiting for it goes on.
    func release()
}
