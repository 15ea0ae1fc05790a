/// A store that can list the sessions it holds, for the tools that look into it.
///
/// ```swift
/// try backend.listing?.forEachSession { id in print(id.tag); return true }
/// ```
public protocol SessionListing: SessionBackend {
    /// Calls `body` with the id of every stored session, in no particular order, until it
    /// returns false.
    func forEachSession(_ body: (SessionID) throws -> Bool) throws
}
