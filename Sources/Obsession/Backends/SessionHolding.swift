/// A store that can hold a session for a whole request, so that the requests of one session
/// run one after another: a read-modify-write of one key (a counter) then loses nothing.
///
/// ```swift
/// if let hold = try backend.holding?.hold(id) {
///     defer { hold.release() }
///     // load, change, apply
/// }
/// ```
public protocol SessionHolding: SessionBackend {
    /// What a request holds; let go with ``SessionHold/release()``.
    associatedtype Hold: SessionHold

    /// Waits until no other request holds session `id`, and holds it. Nil when there is
    /// nothing to hold: no session is stored under `id` (no lock is made for an id nobody
    /// issued), or the store is configured not to hold. Throws ``SessionError/lockTimeout(seconds:)``
    /// after the store's timeout.
    func hold(_ id: SessionID) throws -> Hold?
}

/// One request's hold on a session, from ``SessionHolding/hold(_:)``.
///
/// ```swift
/// let hold = try backend.holding?.hold(id)
/// hold?.release()
/// ```
public protocol SessionHold: AnyObject {
    /// Lets the session go; the next request waiting for it goes on.
    func release()
}
