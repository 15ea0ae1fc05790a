/// What an id cycled away keeps for the grace period: the id it forwards to, until when, and
/// for which client. Stored as the old session's only value, under ``key``.
///
/// ```swift
/// let forward = SessionForward(successor: newID, until: now + 30, client: SessionForward.fingerprint(of: request))
/// if SessionForward.isForward(stored.values) { /* an old id: it only forwards */ }
/// ```
struct SessionForward: Equatable {
    /// The key a forward is kept under.
    static let key = "_forward"

    /// The id it forwards to.
    let successor: SessionID
    /// The last second it forwards, in seconds since 1970.
    let until: Int
    /// The fingerprint of the client that cycled it: a request from elsewhere is not forwarded,
    /// so that an id planted before a login (fixation) is not worth the new session meanwhile.
    let client: String

    init(successor: SessionID, until: Int, client: String) {
        self.successor = successor
        self.until = until
        self.client = client
    }

    /// Whether `values` are an old id's: such a session is never used as it is.
    static func isForward(_ values: [String: SessionValue]) -> Bool { values[key] != nil }

    /// The forward among `values`, if they are an old id's and name an id of `format`.
    init?(_ values: [String: SessionValue], format: SessionIDFormat) {
        guard let members = values[Self.key]?.objectValue, let text = members["to"]?.stringValue,
              let successor = SessionID(validating: text, format: format), let until = members["until"]?.recordedInt,
              let client = members["client"]?.stringValue else { return nil }
        self.init(successor: successor, until: until, client: client)
    }

    /// The forward as a session value.
    var value: SessionValue {
        .object(["to": .string(successor.text), "until": .int(until), "client": .string(client)])
    }

    /// A hash of the request's address and browser: what an old id's forward is bound to.
    static func fingerprint(of request: Request?) -> String {
        var hash = FNV1a()
        hash.add((request?.remoteAddress ?? "").utf8)
        hash.add([0])
        hash.add((request?.parameters["HTTP_USER_AGENT"] ?? "").utf8)
        return String(hash.value, radix: 16)
    }
}

extension StoredSession {
    /// Whether this is an id cycled away, kept only to forward to its successor for the grace
    /// period (see ``Session/cycle()``): no session of its own, which listings leave out.
    ///
    /// ```swift
    /// for (id, stored) in all where !stored.isForward { print(id.tag) }
    /// ```
    public var isForward: Bool { SessionForward.isForward(values) }
}
