import Glibc
public import Obsession

/// PHP's own session files (`session.save_handler = files`), read and written as PHP does, so
/// that PHP pages and Swift pages share one login during a migration.
///
/// The directory is `session.save_path` as PHP reads it: `/path`, or `N;/path` and
/// `N;MODE;/path` (N levels of one-character subdirectories, which, as for PHP, must exist; new
/// files made with MODE, default 0600). Each session is `sess_<id>`, opened with `O_NOFOLLOW`; a
/// file of another user, or not a regular file, is refused. PHP's lock discipline: an exclusive
/// `flock` taken when the session is opened and held until the request ends, so a PHP request and
/// a Swift request on one session run one after the other. Files are rewritten in place (PHP
/// keeps waiting on the inode it opened: a rename would leave it reading the old one), their
/// space claimed first, so a full disk leaves the old session whole. A request that only reads
/// touches the file's time, as PHP's `lazy_write` does, so that PHP's garbage collection (by
/// modification time: Debian's cron) does not expire a session used only on Swift pages.
///
/// Values a Swift page cannot hold faithfully (PHP objects, enums, strings that are not UTF-8)
/// are not shown to it, and are written back byte for byte; only the keys a request changed are
/// serialized anew. PHP keeps no creation time: a session's `createdAt` is its file's
/// modification time, so an absolute timeout does not apply to PHP's sessions.
///
/// ```swift
/// let backend = try PHPFileBackend(savePath: "/var/lib/php/sessions",
///                                  idFormat: .php(length: 26, bitsPerCharacter: 5))  // Debian's php.ini
/// let app = SessionMiddleware(application, idPersister: CookieIdPersistence(cookieName: "PHPSESSID"),
///                             backend: backend)
/// ```
public final class PHPFileBackend: SessionBackend {
    /// The directory of the session files (after PHP's `N;MODE;`).
    public let directory: String
    /// Levels of one-character subdirectories.
    public let levels: Int
    /// The mode of new session files.
    public let fileMode: UInt32
    /// `session.serialize_handler`.
    public let format: PHPSessionFormat
    /// `session.sid_length` and `session.sid_bits_per_character`.
    public let idFormat: SessionIDFormat
    /// Seconds a request waits for a session another request holds, then 503.
    public let lockTimeout: Double
    let clock: any SessionClock

    /// A store on PHP's `savePath`, in `format`, with PHP's ids of `idFormat`.
    ///
    /// ```swift
    /// let backend = try PHPFileBackend(savePath: "2;0660;/var/lib/php/sessions", format: .phpSerialize)
    /// ```
    public init(savePath: String, format: PHPSessionFormat = .php, idFormat: SessionIDFormat = .php(),
                lockTimeout: Double = 30, clock: any SessionClock = SystemClock()) throws(PHPFormatError) {
        let parts = savePath.split(separator: ";", omittingEmptySubsequences: false)
        guard (1...3).contains(parts.count), let path = parts.last, path.hasPrefix("/") else {
            throw PHPFormatError("session.save_path \(String(reflecting: savePath)) is not /path, N;/path or N;MODE;/path", at: 0)
        }
        var levels = 0
        var mode: UInt32 = 0o600
        if parts.count > 1 {
            guard let number = Int(parts[0]), (0...idFormat.length).contains(number) else {
                throw PHPFormatError("session.save_path \(String(reflecting: savePath)): bad level count", at: 0)
            }
            levels = number
        }
        if parts.count == 3 {
            guard let number = UInt32(parts[1], radix: 8), number <= 0o777 else {
                throw PHPFormatError("session.save_path \(String(reflecting: savePath)): bad file mode", at: 0)
            }
            mode = number
        }
        directory = String(path)
        self.levels = levels
        fileMode = mode
        self.format = format
        self.idFormat = idFormat
        self.lockTimeout = lockTimeout
        self.clock = clock
    }

    /// Where session `id`'s file is: `directory/a/b/sess_<id>` with 2 levels.
    ///
    /// ```swift
    /// let file = backend.path(of: id)
    /// ```
    public func path(of id: SessionID) -> String {
        var path = directory
        for character in id.text.prefix(levels) { path += "/\(character)" }
        return path + "/sess_" + id.text
    }

    /// The session, read under PHP's lock, which is let go at once.
    public func load(_ id: SessionID) throws -> StoredSession? {
        guard let hold = try hold(id) else { return nil }
        defer { hold.release(touching: false) }
        return try hold.load()
    }

    /// Makes a new session's file (only where none is), or applies changes to a stored one
    /// under PHP's lock.
    public func apply(_ changes: SessionChanges, to id: SessionID) throws -> SessionChanges.Outcome {
        guard case .create = changes.kind else {
            guard let hold = try hold(id) else { return .gone }
            defer { hold.release(touching: false) }
            return try hold.apply(changes)
        }
        guard let file = try InPlaceFile.creating(path(of: id), mode: fileMode) else { return .exists }
        try file.lock(exclusive: true, timeout: lockTimeout)
        let hold = PHPFileHold(backend: self, id: id, file: file, entries: [])
        defer { hold.release(touching: false) }
        return try hold.apply(changes)
    }

    /// Removes the session's file, as PHP's `session_destroy()` does. A request that holds it
    /// meanwhile writes to a file no longer linked: the session stays gone.
    public func delete(_ id: SessionID) throws {
        let path = path(of: id)
        guard unlink(path) == 0 || errno == ENOENT else {
            throw SessionError.backendFailed("cannot remove \(path): \(Errno.current)", errno: errno)
        }
    }

    /// Sets the file's modification time to `time`, as PHP's `session_start()` of a session it
    /// does not change does.
    public func touch(_ id: SessionID, at time: Int) throws {
        var times = [timespec(tv_sec: time, tv_nsec: 0), timespec(tv_sec: time, tv_nsec: 0)]
        guard utimensat(AT_FDCWD, path(of: id), &times, AT_SYMLINK_NOFOLLOW) == 0 || errno == ENOENT else {
            throw SessionError.backendFailed("cannot touch \(path(of: id)): \(Errno.current)", errno: errno)
        }
    }
}

extension PHPFileBackend: SessionHolding {
    /// Opens session `id`'s file and takes PHP's lock on it, waiting up to ``lockTimeout`` for a
    /// PHP or Swift request that holds it. Nil when there is no file (PHP's strict mode: no file
    /// is made for an id nobody issued), or when it was removed while this request waited.
    public func hold(_ id: SessionID) throws -> PHPFileHold? {
        guard let file = try InPlaceFile.opening(path(of: id)) else { return nil }
        try file.lock(exclusive: true, timeout: lockTimeout)
        guard try !file.isUnlinked() else { return nil }
        let modified = try file.modificationTime()
        let bytes = try file.readAll(limit: PHPFormatLimits.maxBytes)
        let entries: [PHPSessionFormat.Entry]
        do {
            entries = try format.decode(bytes)
        } catch {
            throw SessionError.unreadable("\(file.path): \(error)")
        }
        return PHPFileHold(backend: self, id: id, file: file, entries: entries, modified: modified)
    }
}
