import Glibc

/// Seconds on the monotonic clock, which no change of the wall clock moves: what deadlines and
/// back-offs are measured with.
///
/// ```swift
/// let deadline = MonotonicClock.now + 2.5
/// while MonotonicClock.now < deadline { … }
/// ```
package enum MonotonicClock {
    /// Seconds since an arbitrary moment (the machine's start), to the nanosecond.
    package static var now: Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }

    /// Whole milliseconds from now until `deadline`: 0 once it passed, at most `Int32.max`.
    package static func milliseconds(until deadline: Double) -> Int32 {
        let left = ((deadline - now) * 1000).rounded(.up)
        return left <= 0 ? 0 : left >= Double(Int32.max) ? Int32.max : Int32(left)
    }
}
