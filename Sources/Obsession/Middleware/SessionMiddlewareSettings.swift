import Synchronization

/// What every session of one middleware shares.
final class SessionMiddlewareSettings: Sendable {
    let cookie: CookieIdPersistence
    /// What the store's ids look like: the cookie's ids are checked against it, new ones made in it.
    let idFormat: SessionIDFormat
    /// Seconds of idleness after which a session expires: given, else the cookie's maxAge, else 1440.
    let idleTimeout: Int
    let absoluteTimeout: Int?
    /// Seconds an id cycled away forwards to its successor; 0: none.
    let cycleGracePeriod: Int
    /// Seconds a remembered session lives without a request.
    let rememberedLifetime: Int
    let clock: any SessionClock
    /// When the last garbage collection began, in seconds since 1970.
    let lastCollection = Atomic<Int>(0)
    /// Sessions stored for the first time since the last garbage collection began.
    let sessionsCreated = Atomic<Int>(0)
    /// Whether the last collection stopped at its limit, with expired sessions left.
    let collectionBehind = Atomic<Bool>(false)

    init(cookie: CookieIdPersistence, idFormat: SessionIDFormat, idleTimeout: Int, absoluteTimeout: Int?,
         cycleGracePeriod: Int = 30, rememberedLifetime: Int = 30 * 86400, clock: any SessionClock) {
        self.cookie = cookie
        self.idFormat = idFormat
        self.idleTimeout = idleTimeout
        self.absoluteTimeout = absoluteTimeout
        self.cycleGracePeriod = max(0, cycleGracePeriod)
        self.rememberedLifetime = rememberedLifetime
        self.clock = clock
    }
}
