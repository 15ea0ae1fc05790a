import Glibc

/// An open file descriptor that closes itself: when its owner lets it go, on every path out,
/// a thrown error's included. It cannot be copied, so no two owners close it twice.
///
/// ```swift
/// let file = try FileDescriptor(opening: path, O_RDONLY)
/// let count = read(file.rawValue, &buffer, buffer.count)
/// // closed here
/// ```
package struct FileDescriptor: ~Copyable {
    /// The descriptor's number, for the system calls that take one.
    package let rawValue: Int32

    /// Takes ownership of `rawValue`, an open descriptor.
    package init(_ rawValue: Int32) {
        self.rawValue = rawValue
    }

    /// Opens `path` with `flags` (and `mode`, for a file it makes), adding `O_CLOEXEC`.
    /// The corresponding C function is `open`.
    package init(opening path: String, _ flags: Int32, mode: UInt32 = 0) throws(Errno) {
        rawValue = try retryingInterrupts { path.withCString { open($0, flags | O_CLOEXEC, mode_t(mode)) } }
    }

    /// Hands the descriptor over to a new owner, which must close it.
    package consuming func release() -> Int32 {
        let raw = rawValue
        discard self
        return raw
    }

    deinit { close(rawValue) }
}
