import Glibc

extension FileBackend: SessionHolding {
    /// With ``Locking/exclusive(timeout:)``, holds session `id` for the request: an exclusive
    /// `flock` on its lock file, `…<id>.lock`, beside its session file, waited for up to the
    /// timeout. Nil with ``Locking/merge``, and for an id with no session file: no lock file is
    /// made for an id nobody issued. A session deleted while this request waited is not held
    /// either, and its lock file is left for garbage collection.
    public func hold(_ id: SessionID) throws -> FileHold? {
        guard case .exclusive(let timeout) = locking, sessionFileExists(id) else { return nil }
        let lock: FileDescriptor
        let name = fileName(of: id).with(.lock)
        do {
            lock = try FileDescriptor(opening: layout.lockPath(of: id), O_RDWR | O_CREAT | O_NOFOLLOW, mode: 0o600)
        } catch {
            throw SessionError.backendFailed("cannot open \(name): \(error)", errno: error.rawValue)
        }
        var waited = 0.0
        var pause = 0.001
        while flock(lock.rawValue, LOCK_EX | LOCK_NB) != 0 {
            let cause = errno
            guard cause == EWOULDBLOCK || cause == EINTR else {
                throw SessionError.backendFailed("cannot lock \(name): \(Errno(cause))", errno: cause)
            }
            guard waited < timeout else { throw SessionError.lockTimeout(seconds: timeout) }
            usleep(UInt32(pause * 1_000_000))
            waited += pause
            pause = min(pause * 2, 0.02)
        }
        guard sessionFileExists(id) else { return nil }
        return FileHold(lock)
    }

    private func sessionFileExists(_ id: SessionID) -> Bool {
        var status = stat()
        return lstat(layout.path(of: id), &status) == 0
    }
}

/// A request's exclusive hold on one session of a ``FileBackend``: the lock file's descriptor,
/// holding its `flock` until released.
///
/// ```swift
/// let hold = try backend.hold(id)
/// hold?.release()
/// ```
public final class FileHold: SessionHold {
    private var lock: FileDescriptor?

    init(_ lock: consuming FileDescriptor) {
        self.lock = .some(lock)
    }

    /// Closes the lock file, which ends its `flock`.
    public func release() {
        lock = nil
    }
}
