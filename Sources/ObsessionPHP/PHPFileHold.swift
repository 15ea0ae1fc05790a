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
    private var file: InPlaceFile?
    /// The session's entries as the file holds them now.
    private var entries: [PHPSessionFormat.Entry]
    /// The file's modification time when it was read.
    private let modified: Int
    /// Whether this request wrote the file (then it needs no touch).
    private var wrote = false

    init(backend: PHPFileBackend, id: SessionID, file: consuming InPlaceFile, entries: [PHPSessionFormat.Entry], modified: Int = 0) {
        self.backend = backend
        self.id = id
        self.file = .some(file)
        self.entries = entries
        self.modified = modified
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
        guard let open = file.take() else { return try backend.apply(changes, to: id) }
        let written = Result { try write(changes, through: open) }
        file = .some(open)
        return try written.get()
    }

    private func write(_ changes: SessionChanges, through open: borrowing InPlaceFile) throws -> SessionChanges.Outcome {
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
        try open.rewrite(bytes, modified: changes.time)
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
        if touching, !wrote, let open = file.take() { open.touch(at: backend.clock.now) }
        file = nil
    }
}
