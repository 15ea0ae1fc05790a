extension Session {
    /// The key flash messages wait under until shown.
    static let flashKey = "_flash"

    /// Keeps `message` for the next page that shows flash messages, once.
    ///
    /// ```swift
    /// session.flash("Welcome back, ann")
    /// try response.redirect(to: "/")
    /// ```
    public func flash(_ message: String) {
        var messages = self[Self.flashKey]?.arrayValue ?? []
        messages.append(.string(message))
        self[Self.flashKey] = .array(messages)
    }

    /// The waiting flash messages, removed from the session: each is shown once.
    ///
    /// ```swift
    /// for message in session.takeFlashes() { html += "<p class=flash>\(escape(message))</p>" }
    /// ```
    public func takeFlashes() -> [String] {
        guard let messages = removeValue(forKey: Self.flashKey)?.arrayValue else { return [] }
        return messages.compactMap(\.stringValue)
    }
}
