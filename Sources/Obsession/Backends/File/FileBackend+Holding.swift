import Glibc

extension FileBackend: SessionHolding {
    /// Opens session `id`'s file for the rest of the request, so that its load and its save
    /// share one open; with ``SessionLocking/exclusive(timeout:)``, also takes the session's lock file,
    /// `…<id>.lock` beside it, waiting up to the timeout. Nil for an id with no session file:
    /// no lock file is made for an id nobody issued.
    ///
    /// The file is opened before the lock is taken, for that reason, and looked at again once
    /// the lock is held: a rename may have replaced it while this request waited, and the
    /// request must read what the holder before it left. A session deleted meanwhile is not held.
    public func hold(_ id: SessionID) throws -> FileHold? {
        try prepareDirectory()
        let path = layout.path(of: id)
        let name = fileName(of: id)
        guard var file = try RecordFile(opening: path, named: name, writable: true) else { return nil }
        var lock: FileDescriptor?
        if case .exclusive(let timeout) = locking {
            lock = try lockExclusively(layout.lockPath(of: id), named: name.with(.lock), timeout: timeout)
            if try file.isUnlinked() {
                guard let current = try RecordFile(opening: path, named: name, writable: true) else { return nil }
                file = current
            }
        }
        return FileHold(backend: self, id: id, file: file, status: try file.status(), lock: lock)
    }

    /// An exclusive `flock` on the lock file `path`, waited for up to `timeout` seconds.
    private func lockExclusively(_ path: String, named name: SessionFileName, timeout: Double) throws -> FileDescriptor {
        let lock: FileDescriptor
        do {
            lock = try FileDescriptor(opening: path, O_RDWR | O_CREAT | O_NOFOLLOW, mode: 0o600)
        } catch {
            throw SessionError.backendFailed("cannot open \(name): \(error)", errno: error.rawValue)
        }
        try waitForLock(lock.rawValue, LOCK_EX, timeout: timeout, naming: "\(name)")
        return lock
    }
}

/// A request's hold on one session of a ``FileBackend``: the session file, open from the load
/// to the save, and with exclusive locking the lock file, holding its `flock` until released.
///
/// ```swift
/// let hold = try backend.hold(id)
/// let stored = try hold?.load()
/// hold?.release()
/// ```
public final class FileHold: SessionHold {
    private let backend: FileBackend
    private let id: SessionID
    /// The session file, until the save closes it (ending the lock the save took on it).
    private var file: RecordFile?
    /// Its status when the hold began, the owner checked: the load needs no other.
    private let status: stat
    private var lock: FileDescriptor?

    init(backend: FileBackend, id: SessionID, file: consuming RecordFile, status: stat, lock: consuming FileDescriptor?) {
        self.backend = backend
        self.id = id
        self.file = .some(file)
        self.status = status
        self.lock = lock
    }

    /// The session, read through the open file; from its path again if a rename replaced it.
    public func load() throws -> StoredSession? {
        guard let open = file.take() else { return try backend.load(id) }
        let loaded = Result { try backend.load(id, through: open, known: status) }
        file = .some(open)
        return try loaded.get()
    }

    /// Applies `changes` through the open file, under its lock, and closes it: a later save of
    /// the request opens the path again.
    public func apply(_ changes: SessionChanges) throws -> SessionChanges.Outcome {
        guard case .update = changes.kind, let file = file.take() else { return try backend.apply(changes, to: id) }
        return try backend.apply(changes, to: id, through: file)
    }

    /// Closes the session file and the lock file, which ends the lock.
    public func release() {
        file = nil
        lock = nil
    }
}
