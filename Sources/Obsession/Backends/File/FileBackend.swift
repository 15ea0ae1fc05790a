import Glibc
import Synchronization

/// Sessions in files, one per session, in a directory only this user can enter.
///
/// Each file is a checksummed record (see `SessionRecord`) of the session's values as JSON,
/// rewritten in place under an exclusive `flock`: about the cost of one small write, where
/// replacing the file by rename costs 30–50 times more. A record cut short by a crash fails its
/// checksum and reads as missing, never as garbage. The directory is made 0700 and files 0600 whatever the umask; files are opened with
/// `O_NOFOLLOW`, and a file another user owns is refused. The directory is checked again before
/// each new session's file: removed while the server runs, it is made again; taken meanwhile by
/// another user, it is refused. A save claims its disk space before it touches the old record,
/// so a full disk leaves the old session intact.
///
/// Concurrent requests of one session lose no update: a save re-reads the stored session under
/// the lock and applies only the keys its request changed (``SessionLocking/merge``), and a session that
/// another request deleted or cycled meanwhile is not brought back. ``SessionLocking/exclusive(timeout:)``
/// serialises whole requests of a session instead (``SessionHolding``).
///
/// ```swift
/// let backend = FileBackend(directory: "/var/lib/app/sessions", prefix: "session_",
///                           locking: .exclusive(timeout: 5), durability: .fsync, fanOut: 2)
/// ```
public final class FileBackend: SessionBackend {
    /// How concurrent requests of one session are kept from losing each other's changes: the
    /// ``SessionLocking`` every store that holds sessions shares.
    public typealias Locking = SessionLocking

    /// What a save waits for.
    ///
    /// ```swift
    /// let backend = FileBackend(durability: .fsync)
    /// ```
    public enum Durability: Sendable, Equatable {
        /// The page cache: survives the process dying, not the machine losing power.
        case pageCache
        /// `fdatasync` before the save returns: survives power loss, at the price `make bench` shows.
        case fsync
    }

    /// The directory holding the session files.
    public let directory: String
    /// What every session file's name starts with, before the id.
    public let prefix: String
    /// How concurrent requests of one session are reconciled.
    public let locking: Locking
    /// What a save waits for.
    public let durability: Durability
    /// Levels of subdirectories named by the id's first characters (0, 1 or 2), so that a million
    /// sessions do not share one directory (PHP's `N;path`). Choose it before the store fills:
    /// with another fan-out, the sessions already stored are not found, and only a collection
    /// with the old fan-out (`obsession gc --fan-out OLD`) removes their files.
    public let fanOut: Int
    /// Where each file is.
    let layout: FileLayout
    let clock: any SessionClock
    /// Whether `clock` is the system's, whose time a write stamps by itself (a cast costs more
    /// than the write's other work here, so it is made once).
    private let usesSystemClock: Bool
    private let directoryReady = Atomic<Bool>(false)
    /// The leaf directory where the next bounded garbage collection starts.
    let collectionCursor = Atomic<Int>(0)
    /// When the index of users' sessions was last swept of entries whose session is gone.
    let userIndexSwept = Atomic<Int>(0)
    /// The most data one session may hold.
    static let maxDataSize = StoredSession.maxDataSize

    /// A backend storing files `directory/prefix<id>`; the directory is made (0700) on first use,
    /// and again if it is removed.
    /// By default: `obsession-sessions-<uid>` under `$TMPDIR` or `/tmp`, and the prefix `s_`.
    ///
    /// The prefix is at most 64 characters of `A-Za-z0-9._-`: anything else (a `/`, a NUL) could
    /// put session files outside the directory, and stops the program with a message.
    ///
    /// ```swift
    /// let backend = FileBackend(directory: "/tmp/session-store", prefix: "session_")
    /// ```
    public init(directory: String? = nil, prefix: String = "s_", locking: Locking = .merge,
                durability: Durability = .pageCache, fanOut: Int = 0, clock: any SessionClock = SystemClock()) {
        precondition(prefix.utf8.count <= 64 && prefix.utf8.allSatisfy { SessionID.isIdByte($0) || $0 == UInt8(ascii: "_") },
                     "FileBackend's prefix \(String(reflecting: prefix)) may hold only A-Za-z0-9._- (at most 64 characters)")
        self.directory = directory ?? Self.defaultDirectory()
        self.prefix = prefix
        self.locking = locking
        self.durability = durability
        self.fanOut = min(max(fanOut, 0), 2)
        self.clock = clock
        usesSystemClock = clock is SystemClock
        layout = FileLayout(directory: self.directory, prefix: prefix, fanOut: self.fanOut)
    }

    /// The time a write of changes made at `time` stamps on its file: nil when that is the
    /// system clock's now, which the write itself stamps (one system call less); else `time`
    /// (an injected clock, a remembered session stamped later, an id cycled away earlier).
    private func stamp(_ time: Int) -> Int? { usesSystemClock && time == clock.now ? nil : time }

    /// `$TMPDIR/obsession-sessions-<uid>`, or under `/tmp`.
    ///
    /// ```swift
    /// print(FileBackend.defaultDirectory())  // /tmp/obsession-sessions-1000
    /// ```
    public static func defaultDirectory() -> String {
        let temporary = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
        return "\(temporary)/obsession-sessions-\(geteuid())"
    }

    /// Checks that the directory is ours, private, and writable.
    ///
    /// ```swift
    /// try FileBackend(directory: "/var/lib/app/sessions").checkHealth()
    /// ```
    public func checkHealth() throws {
        try prepareDirectory()
        guard access(directory, W_OK) == 0 else {
            throw SessionError.backendFailed("cannot write to \(directory): \(Errno.current)", errno: errno)
        }
    }

    public func load(_ id: SessionID) throws -> StoredSession? {
        try prepareDirectory()
        guard let file = try RecordFile(opening: layout.path(of: id), named: fileName(of: id), writable: false) else { return nil }
        return try load(id, through: file, known: nil)
    }

    /// Session `id`, read through its open `file`, whose status `known` was taken when it was
    /// opened (nil: take it now).
    func load(_ id: SessionID, through file: borrowing RecordFile, known: stat?) throws -> StoredSession? {
        // Nil from the first read: unlinked since it was opened (deleted, or replaced: read
        // again), or caught between a writer's write and its truncate (read under a shared lock).
        if let (contents, modifiedAt) = try file.read(known: known) { return try session(contents, modifiedAt: modifiedAt, in: file.name) }
        if try file.isUnlinked() { return try load(id) }
        guard let (contents, modifiedAt) = try file.read(sharing: true) else {
            throw SessionError.unreadable("\(file.name) is not an intact session record")
        }
        return try session(contents, modifiedAt: modifiedAt, in: file.name)
    }

    /// The session a record holds; its data must be a JSON object.
    private func session(_ contents: SessionRecord.Contents, modifiedAt: Int, in name: SessionFileName) throws -> StoredSession {
        guard let values = Self.values(of: contents.data) else { throw SessionError.unreadable("\(name) does not hold a JSON object") }
        return StoredSession(values: values, createdAt: contents.createdAt, modifiedAt: modifiedAt, revision: contents.checksum)
    }

    /// The values a record's data holds, if it is a JSON object.
    private static func values(of data: [UInt8]) -> [String: SessionValue]? {
        (try? JSON.decode(data))?.objectValue
    }

    /// The record of `values` (as JSON), begun at `createdAt`. Throws ``SessionError/coding(_:)``
    /// for a value nested deeper than JSON is read back, and refuses a session over
    /// ``maxDataSize``.
    private static func record(of values: [String: SessionValue], createdAt: Int) throws -> [UInt8] {
        let data: [UInt8]
        do {
            data = try JSON.encode(.object(values))
        } catch {
            throw SessionError.coding(error.description)
        }
        guard data.count <= maxDataSize else {
            throw SessionError.backendFailed("a session of \(data.count) bytes is over the limit of \(maxDataSize)")
        }
        return SessionRecord.encode(data: data, createdAt: createdAt)
    }

    /// Stores a new session by making its file (which is never looked for first: the id is
    /// fresh), or applies a request's changes to a stored one under the file's lock, reading
    /// what is stored first: a record unchanged since the request read it (its checksum is the
    /// revision the request holds) takes the request's whole view without being decoded.
    public func apply(_ changes: SessionChanges, to id: SessionID) throws -> SessionChanges.Outcome {
        try recordUser(of: changes, for: id)
        switch changes.kind {
        case .create(let createdAt):
            let record = try Self.record(of: changes.whole, createdAt: createdAt)
            guard try createFile(of: id, record: record, stamp: stamp(changes.time)) else { return .exists }
            return .applied(revision: SessionRecord.checksum(of: record))
        case .update:
            try prepareDirectory()
            let path = layout.path(of: id)
            while true {
                guard let file = try RecordFile(opening: path, named: fileName(of: id), writable: true) else { return .gone }
                if let outcome = try update(file, at: path, with: changes) { return outcome }
            }
        }
    }

    /// Applies `changes` to session `id` through its `file`, opened when the request's hold
    /// began; through the path again if a rename replaced the file meanwhile.
    func apply(_ changes: SessionChanges, to id: SessionID, through file: consuming RecordFile) throws -> SessionChanges.Outcome {
        try recordUser(of: changes, for: id)
        if let outcome = try update(file, at: layout.path(of: id), with: changes) { return outcome }
        return try apply(changes, to: id)
    }

    /// One attempt at applying `changes` through the open `file`, under its lock; nil when a
    /// rename replaced the file meanwhile (the caller opens the path again). The lock ends when
    /// the caller lets the file go, right after.
    private func update(_ file: borrowing RecordFile, at path: String, with changes: SessionChanges) throws -> SessionChanges.Outcome? {
        try file.lock()
        let status = try file.status()
        if status.st_nlink == 0 {
            // Replaced: apply to the new file. Deleted (or cycled): gone, as that request wanted.
            return access(path, F_OK) == 0 ? nil : .gone
        }
        // A record that is not whole cannot be merged into: gone, as a missing one.
        guard let (current, _) = try? file.read(known: status) else { return .gone }
        let values = changes.values(over: { Self.values(of: current.data) ?? [:] }, revision: current.checksum)
        let record = try Self.record(of: values, createdAt: current.createdAt)
        if record.count <= Self.inPlaceLimit {
            try file.write(record: record, replacing: Int(status.st_size), stamp: stamp(changes.time), durability: durability)
        } else {
            _ = try RecordFile.putWhole(record, at: path, named: file.name, replacing: true, stamp: stamp(changes.time), durability: durability)
            syncDirectory(of: path)
        }
        return .applied(revision: SessionRecord.checksum(of: record))
    }

    /// The largest record rewritten in place: one page, which a killed process cannot leave
    /// half-written (the kernel stops a multi-page write at a page boundary when SIGKILL comes).
    static let inPlaceLimit = Int(sysconf(Int32(_SC_PAGESIZE)))

    /// Makes session `id`'s file holding `record`, whole or not at all; false if it exists.
    ///
    /// A record of one page is written straight into the new file: a crash can leave it empty
    /// (which reads as missing, for a session that never reached its client) but not half
    /// written. A larger one is written under a temporary name and linked into place whole.
    /// The store is checked first on every call, not only at first use: if it was removed while
    /// the server ran, someone else may have taken its name (in /tmp, anyone can). Missing is
    /// fine: the directories are made again, and the file after them.
    private func createFile(of id: SessionID, record: [UInt8], stamp: Int?) throws -> Bool {
        _ = try checkPrivateDirectory(directory)
        let path = layout.path(of: id)
        let name = fileName(of: id)
        let create = { () throws -> Bool in
            if record.count > Self.inPlaceLimit {
                return try RecordFile.putWhole(record, at: path, named: name, replacing: false, stamp: stamp, durability: self.durability)
            }
            try RecordFile.writeNew(record, at: path, named: name, stamp: stamp, durability: self.durability)
            return true
        }
        let created: Bool
        do {
            created = try create()
        } catch SessionError.backendFailed(_, errno: ENOENT) {
            try makeDirectories(of: id)
            created = try create()
        } catch SessionError.backendFailed(_, errno: EEXIST) {
            return false
        }
        if created { syncDirectory(of: path) }
        return created
    }

    /// Makes the store and the fan-out levels that hold session `id`'s file, each 0700 and
    /// ours: a level's first session, or a store removed while the server runs (`rm -rf` of
    /// it, or a cleaner of /tmp, where the default store lives), which would otherwise fail
    /// every new session until a restart.
    private func makeDirectories(of id: SessionID) throws {
        for level in layout.directories(of: id) where try makePrivateDirectory(level) {
            syncDirectory(of: level)
        }
    }

    /// Removes the session's file under its lock, so that no save that already holds the lock
    /// can bring it back: such a save finishes first (a larger record renamed into place
    /// included), and the file removed is the one it left.
    public func delete(_ id: SessionID) throws {
        let path = layout.path(of: id)
        let name = fileName(of: id)
        while true {
            let opened: RecordFile?
            do {
                opened = try RecordFile(opening: path, named: name, writable: false)
            } catch SessionError.unreadable {
                // A symbolic link: removed as it is, never followed.
                return try unlinkFile(path, named: name)
            }
            guard let file = opened else { return }
            try file.lock()
            // Replaced by a rename while we waited: remove what replaced it.
            if (try? file.isUnlinked()) == true { continue }
            return try unlinkFile(path, named: name)
        }
    }

    private func unlinkFile(_ path: String, named name: SessionFileName) throws {
        guard unlink(path) == 0 || errno == ENOENT else {
            throw SessionError.backendFailed("cannot remove \(name): \(Errno.current)", errno: errno)
        }
        syncDirectory(of: path)
    }

    public func touch(_ id: SessionID, at time: Int) throws {
        var times = [timespec(tv_sec: time, tv_nsec: 0), timespec(tv_sec: time, tv_nsec: 0)]
        guard utimensat(AT_FDCWD, layout.path(of: id), &times, AT_SYMLINK_NOFOLLOW) == 0 || errno == ENOENT else {
            throw SessionError.backendFailed("cannot touch \(fileName(of: id)): \(Errno.current)", errno: errno)
        }
    }

    /// How messages name session `id`'s file.
    func fileName(of id: SessionID) -> SessionFileName {
        SessionFileName(id: id, directory: directory)
    }

    /// Makes the directory 0700 on first use, and refuses one that is not ours or is a link.
    func prepareDirectory() throws {
        if directoryReady.load(ordering: .acquiring) { return }
        if try makePrivateDirectory(directory) { syncDirectory(of: directory) }
        directoryReady.store(true, ordering: .releasing)
    }

    /// With ``Durability/fsync``, syncs the directory holding `path`, whose entries changed (a
    /// file made, renamed or removed, a directory made), so that the change survives power loss.
    func syncDirectory(of path: String) {
        guard durability == .fsync, let slash = path.lastIndex(of: "/") else { return }
        let parent = slash == path.startIndex ? "/" : String(path[..<slash])
        guard let directory = try? FileDescriptor(opening: parent, O_RDONLY | O_DIRECTORY) else { return }
        fsync(directory.rawValue)
    }
}
