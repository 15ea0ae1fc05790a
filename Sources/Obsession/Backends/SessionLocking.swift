/// How concurrent requests of one session are kept from losing each other's changes, for a
/// store that offers the choice (``FileBackend``, the Redis store).
///
/// ```swift
/// let backend = FileBackend(locking: .exclusive(timeout: 5))
/// ```
public enum SessionLocking: Sendable, Equatable {
    /// Requests run side by side; each save applies only the keys its request changed or
    /// removed, atomically. Two requests changing different keys both win.
    case merge
    /// A request holds the session from its first access to its end; others wait up to
    /// `timeout` seconds, then get 503 and write nothing. Serialises read-modify-write of one key.
    case exclusive(timeout: Double)
}
