import Glibc

/// An `errno` value as an error: the system's own reason a call failed, kept as a number so
/// that a caller can tell ENOSPC from EACCES without reading a sentence.
///
/// ```swift
/// do { _ = try retryingInterrupts { open(path, O_RDONLY) } } catch { print(error.rawValue == ENOENT) }
/// ```
package struct Errno: Error, Equatable, Sendable, CustomStringConvertible {
    /// The number, as `errno.h` names it (`ENOENT`, `ENOSPC`, …).
    package let rawValue: Int32

    /// Wraps an `errno` value.
    package init(_ rawValue: Int32) {
        self.rawValue = rawValue
    }

    /// The calling thread's `errno` now.
    package static var current: Errno { Errno(errno) }

    /// The description `strerror` gives, in lower case ("permission denied"), to end a
    /// sentence of ours.
    package var description: String {
        String(cString: strerror(rawValue)).lowercased()
    }
}

/// The description of an errno value (by default the current `errno`'s), to end a sentence.
package func errnoDescription(_ code: Int32 = errno) -> String {
    Errno(code).description
}

/// Calls a system function that returns -1 and sets `errno` on failure, again while it fails
/// with `EINTR`; returns its result, or throws the `errno` it failed with. Every wrapped system
/// call goes through here, and every error type of the package keeps the number it throws.
///
/// ```swift
/// let descriptor = try retryingInterrupts { open(path, O_RDONLY | O_CLOEXEC) }
/// ```
package func retryingInterrupts<T: BinaryInteger>(_ call: () -> T) throws(Errno) -> T {
    while true {
        let result = call()
        if result != -1 { return result }
        let error = errno
        if error != EINTR { throw Errno(error) }
    }
}
