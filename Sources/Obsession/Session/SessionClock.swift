import Glibc

/// The time sessions are judged by, in seconds since 1970; tests inject their own.
///
/// ```swift
/// final class FixedClock: SessionClock, @unchecked Sendable {
///     var now = 1_000_000
/// }
/// ```
public protocol SessionClock: Sendable {
    /// The current time, in seconds since 1970.
    var now: Int { get }
}

/// The system's real-time clock.
///
/// ```swift
/// let now = SystemClock().now
/// ```
public struct SystemClock: SessionClock {
    /// Makes the clock.
    ///
    /// ```swift
    /// let app = SessionMiddleware(handler, clock: SystemClock())
    /// ```
    public init() {}

    public var now: Int {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return time.tv_sec
    }
}
