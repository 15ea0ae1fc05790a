extension Session {
    /// The key the CSRF token is kept under.
    static let csrfKey = "_csrf"

    /// This session's CSRF token (made on first use: 40 characters from the kernel's random
    /// source). Put it in every form that changes state, and check it with
    /// ``isValidCSRFToken(_:)``.
    ///
    /// ```swift
    /// html += "<input type=hidden name=csrf value=\"\(session.csrfToken)\">"
    /// ```
    public var csrfToken: String {
        if let token = self[Self.csrfKey]?.stringValue { return token }
        let token = SessionID.random().text
        self[Self.csrfKey] = .string(token)
        return token
    }

    /// Whether `token` is this session's CSRF token, compared in constant time so that the
    /// time taken says nothing about how much of it matched. A session without a token
    /// accepts none.
    ///
    /// ```swift
    /// guard session.isValidCSRFToken(try request.form().fields["csrf"]) else { throw Forbidden() }
    /// ```
    public func isValidCSRFToken(_ token: String?) -> Bool {
        guard let expected = self[Self.csrfKey]?.stringValue, let token else { return false }
        let given = Array(token.utf8)
        let wanted = Array(expected.utf8)
        var difference = UInt8(given.count == wanted.count ? 0 : 1)
        for index in 0..<wanted.count {
            difference |= wanted[index] ^ (index < given.count ? given[index] : 0)
        }
        return difference == 0
    }
}
