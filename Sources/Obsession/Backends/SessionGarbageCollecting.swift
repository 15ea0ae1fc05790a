/// A store whose expired sessions someone must remove (a store with its own expiry, such as
/// Redis, has no need): the file and memory stores.
///
/// ```swift
/// let removed = try backend.garbageCollection?.collectGarbage(olderThan: now - 1440, limit: 1000) ?? 0
/// ```
public protocol SessionGarbageCollecting: SessionBackend {
    /// Removes sessions last used before `time` (seconds since 1970), at most `limit` of them, and
    /// returns how many went. A pass may also bound how much it looks at, if passes together
    /// reach every session (the file store goes on where its last pass stopped).
    func collectGarbage(olderThan time: Int, limit: Int) throws -> Int
}
