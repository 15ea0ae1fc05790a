extension Request {
    /// This request's session, loaded on the first call (later calls return the same one).
    ///
    /// Throws if the backend fails (the request then answers 500 and the stored session is
    /// untouched). A handler that no ``SessionMiddleware`` wraps is a programmer's error: it
    /// stops the program with a message saying so.
    ///
    /// ```swift
    /// let session = try request.session()
    /// session["visits"] = .int((session["visits"]?.intValue ?? 0) + 1)
    /// ```
    public func session() throws -> Session {
        guard let slot = self[SessionSlot.self] else {
            preconditionFailure("request.session() needs a SessionMiddleware around the handler")
        }
        return try slot.session()
    }
}

/// The request's session, made on first use, and what it needs to start and commit.
final class SessionSlot: RequestAttachmentKey {
    typealias Value = SessionSlot
    private let backend: any SessionBackend
    private let settings: SessionMiddlewareSettings
    private let clientIDs: [SessionID]
    /// The request and its response, which hold this slot (the response through its commit hook)
    /// and so outlive every call of it.
    private unowned let request: Request
    private unowned let response: Response
    // Unchecked at run time for the reason `Session` gives.
    @exclusivity(unchecked) private(set) var current: Session?

    init(backend: any SessionBackend, settings: SessionMiddlewareSettings, clientIDs: [SessionID], request: Request,
         response: Response) {
        self.backend = backend
        self.settings = settings
        self.clientIDs = clientIDs
        self.request = request
        self.response = response
    }

    /// Commits the session, if one was used.
    func commit() throws {
        try current?.commit(to: response) { request.log($0, level: .warning) }
    }

    func session() throws -> Session {
        if let current { return current }
        let session = Session(backend: backend, settings: settings, request: request)
        try session.start(clientIDs: clientIDs) { request.log($0, level: .warning) }
        current = session
        return session
    }
}
