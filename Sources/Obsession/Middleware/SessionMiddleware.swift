/// Gives every request a lazily loaded session, and saves it when the request ends.
///
/// ```swift
/// import Obsession
///
/// // Basic: cookie "_obs", files under the system temporary directory.
/// FastCGIServer.main { _ in SessionMiddleware(application) }
///
/// // Every option.
/// let app = SessionMiddleware(application,
///     idPersister: CookieIdPersistence(cookieName: "mysession", maxAge: 86400, path: "/my-site",
///                                      domain: "mysite.example.org", secure: true),
///     backend: FileBackend(directory: "/tmp/session-store", prefix: "session_"))
/// ```
///
/// A request that never calls `request.session()` does no backend I/O and sets no cookie. A
/// handler that throws saves nothing: the stored session stays as it was.
public struct SessionMiddleware<Application: Responder>: Responder {
    private let application: Application
    private let backend: any SessionBackend
    private let settings: SessionMiddlewareSettings

    /// Wraps `application`.
    ///
    /// - Parameters:
    ///   - application: the responder that answers the requests, each with a session at hand.
    ///   - idPersister: how the id travels (the cookie and its attributes).
    ///   - backend: where sessions are stored; default a ``FileBackend`` in the temporary directory.
    ///   - idleTimeout: seconds without a request after which a session is expired on the server;
    ///     default the cookie's `maxAge`, else 1440 (24 minutes, PHP's default).
    ///   - absoluteTimeout: seconds after its creation after which a session is expired whatever
    ///     its use; default none.
    ///   - cycleGracePeriod: seconds an id cycled away (``Session/cycle()``, a login) still
    ///     forwards the requests already on their way with it to its successor; default 30, 0: none.
    ///   - rememberedLifetime: seconds a session remembered at its login
    ///     (``Session/logIn(user:remember:details:)``) and its cookie live without a request;
    ///     default 30 days.
    ///   - clock: the time sessions are judged by.
    ///
    /// ```swift
    /// let app = SessionMiddleware(MyApp(), backend: MemoryBackend(size: 1000), idleTimeout: 600)
    /// ```
    public init(_ application: Application, idPersister: CookieIdPersistence = CookieIdPersistence(),
                backend: any SessionBackend = FileBackend(), idleTimeout: Int? = nil, absoluteTimeout: Int? = nil,
                cycleGracePeriod: Int = 30, rememberedLifetime: Int = 30 * 86400, clock: any SessionClock = SystemClock()) {
        self.application = application
        self.backend = backend
        self.settings = SessionMiddlewareSettings(cookie: idPersister, idFormat: backend.idFormat,
                                                  idleTimeout: idleTimeout ?? idPersister.maxAge ?? 1440,
                                                  absoluteTimeout: absoluteTimeout, cycleGracePeriod: cycleGracePeriod,
                                                  rememberedLifetime: rememberedLifetime, clock: clock)
    }

    /// Runs the application with the request's session at hand, then commits the session
    /// (``Session`` does it, in one place): before the headers leave, and once more when the
    /// application returns, for what it changed after they left. A hold on the session ends last.
    public func respond(to request: Request, with response: Response) throws {
        let slot = SessionSlot(backend: backend, settings: settings, clientIDs: settings.cookie.ids(in: request, format: settings.idFormat),
                               request: request, response: response)
        request[SessionSlot.self] = slot
        defer { slot.current?.end() }
        // One capture: the closure's context is the slot itself, with nothing to allocate.
        response.beforeHeaders { try slot.commit() }
        try application.respond(to: request, with: response)
        try slot.commit()
    }
}

extension SessionMiddleware {
    /// Collects expired sessions between requests, at the pace new ones are made: a pass every
    /// idle timeout or every minute, whichever is sooner (no session can expire faster), and
    /// every second while the last pass left expired sessions behind. A pass removes at most
    /// twice as many sessions as were made since the last, and at least 1,000 (with the file
    /// backend it looks at 16 times as many files). So a flood of clients that never come back,
    /// each making a session, cannot outgrow the collection. Then the application's own `idle()`.
    public func idle() {
        if let collector = backend.garbageCollection { collectGarbageIfDue(collector) }
        application.idle()
    }

    private func collectGarbageIfDue(_ collector: any SessionGarbageCollecting) {
        let now = settings.clock.now
        let last = settings.lastCollection.load(ordering: .relaxed)
        let interval = settings.collectionBehind.load(ordering: .relaxed) ? 1 : min(60, max(1, settings.idleTimeout))
        guard now - last >= interval,
              settings.lastCollection.compareExchange(expected: last, desired: now, ordering: .relaxed).exchanged else { return }
        let made = settings.sessionsCreated.exchange(0, ordering: .relaxed)
        let limit = max(1000, 2 * made)
        do {
            let removed = try collector.collectGarbage(olderThan: now - settings.idleTimeout, limit: limit)
            settings.collectionBehind.store(removed >= limit, ordering: .relaxed)
        } catch {
            logLine("session garbage collection failed: \(error)", level: .error)
        }
    }
}

extension SessionMiddleware {
    /// The session store on the status page: its kind, whether it answers (and if not, why),
    /// and how many sessions it holds where that is cheap to tell; then the application's.
    public func status() -> [StatusField] {
        var fields = [StatusField(name: "store", value: .text(String(describing: type(of: backend))), help: "The session store's kind.")]
        do {
            try backend.checkHealth()
            fields.append(StatusField(name: "store_healthy", value: .number(1), help: "Whether the session store answered."))
        } catch {
            fields.append(StatusField(name: "store_healthy", value: .number(0), help: "Whether the session store answered."))
            fields.append(StatusField(name: "store_problem", value: .text("\(error)"), help: "What the session store answered."))
        }
        if let count = backend.sessionCount {
            fields.append(StatusField(name: "sessions", value: .number(count), help: "Sessions the store holds."))
        }
        return fields + application.status()
    }
}

extension SessionMiddleware where Application == ClosureResponder {
    /// Wraps a handler function, the options after it, as the seed writes it.
    ///
    /// ```swift
    /// func application(request: Request, response: Response) throws { … }
    /// let app = SessionMiddleware(application, backend: FileBackend(directory: "/tmp/session-store"))
    /// ```
    public init(_ handler: @escaping @Sendable (Request, Response) throws -> Void,
                idPersister: CookieIdPersistence = CookieIdPersistence(), backend: any SessionBackend = FileBackend(),
                idleTimeout: Int? = nil, absoluteTimeout: Int? = nil, cycleGracePeriod: Int = 30,
                rememberedLifetime: Int = 30 * 86400, clock: any SessionClock = SystemClock()) {
        self.init(ClosureResponder(handler), idPersister: idPersister, backend: backend, idleTimeout: idleTimeout,
                  absoluteTimeout: absoluteTimeout, cycleGracePeriod: cycleGracePeriod, rememberedLifetime: rememberedLifetime,
                  clock: clock)
    }

    /// Wraps a handler closure written after the options.
    ///
    /// ```swift
    /// let app = SessionMiddleware { request, response in
    ///     let session = try request.session()
    ///     session["seen"] = true
    /// }
    /// ```
    @_disfavoredOverload
    public init(idPersister: CookieIdPersistence = CookieIdPersistence(), backend: any SessionBackend = FileBackend(),
                idleTimeout: Int? = nil, absoluteTimeout: Int? = nil, cycleGracePeriod: Int = 30,
                rememberedLifetime: Int = 30 * 86400, clock: any SessionClock = SystemClock(),
                _ handler: @escaping @Sendable (Request, Response) throws -> Void) {
        self.init(ClosureResponder(handler), idPersister: idPersister, backend: backend, idleTimeout: idleTimeout,
                  absoluteTimeout: absoluteTimeout, cycleGracePeriod: cycleGracePeriod, rememberedLifetime: rememberedLifetime,
                  clock: clock)
    }
}
