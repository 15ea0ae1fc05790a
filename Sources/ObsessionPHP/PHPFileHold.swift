import FastCGI
import Glibc
public import Obsession

/// A request's hold on one PHP session file: the file, open and under PHP's exclusive lock
/// from the load to the end of the request, and its entries as read.
///
/// ```swift
/// let hold = try backend.hold(id)
/// let stored = try hold?.load()
/// hold?.release()
/// ```
public final class PHPFileHold: SessionHold {
    private let backend: PHPFileBackend
    private let id: SessionID
    private var file: FileDescriptor?
    /// The session's entries as the file holds them now.
    private var entries: [PHPSessionFormat.Entry]
    /// The file's modification time when it was read.
    private let modified: Int
    /// Whether this request wrote the file (then it needs no touch).
    private var wrote = false
    /// Why the file could be opened only for reading, if it could.
    private let readOnly: Errno?

    init(backend: PHPFileBackend, id: SessionID, file: consuming FileDescriptor, entries: [PHPSessionFormat.Entry],
         modified: Int = 0, readOnly: Errno? = nil) {
        self.backend = backend
        self.id = id
        self.file = .some(file)
        self.entries = entries
        self.modified = modified
        self.readOnly = readOnly
    }

    /// The values a Swift page can hold faithfully (``PHPSessionFormat/sessionValues(of:)``);
    /// the rest stays in the file untouched.
    public func load() throws -> StoredSession? {
        guard file != nil else { return try backend.load(id) }
        return StoredSession(values: PHPSessionFormat.sessionValues(of: entries), createdAt: modified, modifiedAt: modified)
    }

    /// Serializes the keys the request set, drops those it removed, keeps every other entry as
    /// it was, and writes the file in place under the lock: its space claimed first, then the
    /// bytes, then the length; its time set to the changes' time.
    public func apply(_ changes: SessionChanges) throws -> SessionChanges.Outcome {
        guard let descriptor = file?.rawValue else { return try backend.apply(changes, to: id) }
        let path = backend.path(of: id)
        if let readOnly { throw SessionError.backendFailed("cannot write \(path): \(readOnly)", errno: readOnly.rawValue) }
        let updated = backend.format.applying(changes, to: entries)
        let bytes: [UInt8]
        do {
            bytes = try backend.format.encode(updated)
        } catch {
            throw SessionError.coding("\(error)")
        }
        guard bytes.count <= PHPFormatLimits.maxBytes else {
            throw SessionError.backendFailed("session \(id.tag): \(bytes.count) bytes are over the limit of \(PHPFormatLimits.maxBytes)")
        }
        if !bytes.isEmpty {
            let claimed = posix_fallocate(descriptor, 0, off_t(bytes.count))
            guard claimed == 0 else {
                throw SessionError.backendFailed("cannot write \(path): \(Errno(claimed))", errno: claimed)
            }
        }
        var done = 0
        while done < bytes.count {
            let wrote = bytes.withUnsafeBytes { pwrite(descriptor, $0.baseAddress! + done, bytes.count - done, off_t(done)) }
            if wrote < 0, errno == EINTR { continue }
            guard wrote > 0 else { throw SessionError.backendFailed("cannot write \(path): \(Errno.current)", errno: errno) }
            done += wrote
        }
        guard ftruncate(descriptor, off_t(bytes.count)) == 0 else {
            throw SessionError.backendFailed("cannot write \(path): \(Errno.current)", errno: errno)
        }
        var times = [timespec(tv_sec: changes.time, tv_nsec: 0), timespec(tv_sec: changes.time, tv_nsec: 0)]
        futimens(descriptor, &times)
        entries = updated
        wrote = true
        return .applied(revision: nil)
    }

    /// Touches the file if the request did not write it, then closes it, which ends the lock.
    public func release() {
        release(touching: true)
    }

    /// Closes the file; touches it first when `touching` and the request did not write it.
    func release(touching: Bool) {
        if touching, !wrote, readOnly == nil, let descriptor = file?.rawValue {
            var times = [timespec(tv_sec: backend.clock.now, tv_nsec: 0), timespec(tv_sec: backend.clock.now, tv_nsec: 0)]
            futimens(descriptor, &times)
        }
        file = nil
    }
}
