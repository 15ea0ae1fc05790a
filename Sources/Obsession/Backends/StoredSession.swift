/// A session as a store hands it over: its values and times.
///
/// ```swift
/// let stored = StoredSession(values: ["user": "ann"], createdAt: 1_800_000_000, modifiedAt: 1_800_000_060)
/// ```
public struct StoredSession: Sendable, Equatable {
    /// The session's values.
    public var values: [String: SessionValue]
    /// When the session was first stored, in seconds since 1970.
    public var createdAt: Int
    /// When it was last changed or touched, in seconds since 1970.
    public var modifiedAt: Int
    /// Names this version of the stored values, for a store that can tell cheaply whether they
    /// changed since (the file store: its record's checksum); nil for a store that cannot.
    public var revision: UInt64?

    /// The most data one session may hold, encoded, in the stores of this package (1 MiB): a
    /// save beyond it fails and leaves the stored session as it was, so that no client can grow
    /// a session without bound.
    public static let maxDataSize = 1 << 20

    /// Makes a stored session.
    ///
    /// ```swift
    /// let stored = StoredSession(values: ["n": 1], createdAt: 0, modifiedAt: 0)
    /// ```
    public init(values: [String: SessionValue], createdAt: Int, modifiedAt: Int, revision: UInt64? = nil) {
        self.values = values
        self.createdAt = createdAt
        self.modifiedAt = modifiedAt
        self.revision = revision
    }
}
