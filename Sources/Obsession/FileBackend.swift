import Glibc
import Synchronization

/// Sessions in files, one per session, in a directory only this user can enter.
///
/// Each file is a checksummed record (see `SessionRecord`) rewritten in place under an exclusive
/// `flock`: about the cost of one small write, where replacing the file by rename costs 30–50
/// times more. A record cut short by a crash fails its checksum and reads as missing, never as
/// garbage. The directory is made 0700 and files 0600 whatever the umask; files are opened with
/// `O_NOFOLLOW`, and a file another user owns is refused. The directory is checked again before
/// each new session's file: removed while the server runs, it is made again; taken meanwhile by
/// another user, it is refused. A save claims its disk space before it touches the old record,
/// so a full disk leaves the old session intact.
///
/// Concurrent requests of one session lose no update: a save re-reads the stored session under
/// the lock and applies only the keys its request changed (``Locking/merge``), and a session that
/// another request deleted or cycled meanwhile is not brought back. ``Locking/exclusive(timeout:)``
/// serialises whole requests of a session instead.
///
/// ```swift
/// let backend = FileBackend(directory: "/var/lib/app/sessions", prefix: "session_",
///                           locking: .exclusive(timeout: 5), durability: .fsync, fanOut: 2)
/// ```
public final class FileBackend: SessionBackend {
    /// How concurrent requests of one session are kept from losing each other's changes.
    ///
    /// ```swift
    /// let backend = FileBackend(locking: .exclusive(timeout: 5))
    /// ```
    public enum Locking: Sendable, Equatable {
        /// Requests run side by side; each save re-reads under a short lock and applies only the
        /// keys its request changed or removed. Two requests changing different keys both win.
        case merge
        /// A request holds the session from its first access to its end; others wait up to
        /// `timeout` seconds, then get 503 and write nothing. Serialises read-modify-write of one key.
        case exclusive(timeout: Double)
    }

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
    let clock: any SessionClock
    private let directoryReady = Atomic<Bool>(false)
    /// The leaf directory where the next bounded garbage collection starts.
    let collectionCursor = Atomic<Int>(0)
    /// The most data one session may hold.
    static let maxDataSize = 1 << 20

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
    }

    /// The time a write stamps on its file: nil with the system clock, whose time the write
    /// itself stamps (one system call less); the injected clock's time otherwise.
    private var modificationTime: Int? { clock is SystemClock ? nil : clock.now }

    /// `$TMPDIR/obsession-sessions-<uid>`, or under `/tmp`.
    ///
    /// ```swift
    /// print(FileBackend.defaultDirectory())  // /tmp/obsession-sessions-1000
    /// ```
    public static func defaultDirectory() -> String {
        let temporary = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
        return "\(temporary)/obsession-sessions-\(geteuid())"
    }

    public func load(_ id: SessionID) throws -> StoredSession? {
        try prepareDirectory()
        let path = self.path(of: id)
        guard let file = try SessionFile(opening: path, named: fileName(of: id), writable: false) else { return nil }
        defer { file.close() }
        // Nil: unlinked since we opened it. Deleted (the path is gone) or replaced (read it again).
        return try file.readSession() ?? load(id)
    }

    public func save(_ id: SessionID, data: [UInt8]) throws {
        try update(id) { _ in data }
    }

    public func update(_ id: SessionID, _ merge: (StoredSession?) throws -> [UInt8]?) throws {
        try prepareDirectory()
        let path = self.path(of: id)
        while true {
            if let file = try SessionFile(opening: path, named: fileName(of: id), writable: true) {
                defer { file.close() }
                if try update(file, at: path, merge) { return }
                continue
            }
            guard let data = try merge(nil) else { return }
            // If another request made the file first, merge with theirs.
            if try createFile(path, of: id, data: data) { return }
        }
    }

    /// Makes the session's file, without first looking for one: a new session's id is fresh.
    public func create(_ id: SessionID, data: [UInt8]) throws -> Bool {
        // No prepareDirectory(): createFile checks the directory on every call, and makes it.
        try createFile(path(of: id), of: id, data: data)
    }

    /// Makes the file `path` of session `id` holding `data`, whole or not at all; false if it
    /// exists.
    private func createFile(_ path: String, of id: SessionID, data: [UInt8]) throws -> Bool {
        // Checked again for every new file, not only at first use: if the store was removed
        // while the server ran, someone else may have taken its name (in /tmp, anyone can).
        // Missing is fine: the create then makes it again.
        _ = try checkPrivateDirectory(directory)
        guard try SessionFile.create(path, named: fileName(of: id), record: SessionRecord.encode(data: data, createdAt: clock.now),
                                     modifiedAt: modificationTime, durability: durability,
                                     makeDirectories: { try makeDirectories(of: id) }) else { return false }
        syncDirectory(of: path)
        return true
    }

    /// Makes the directory and the fan-out levels that hold session `id`'s file, each 0700 and
    /// ours: a level's first session, or a store removed while the server runs (`rm -rf` of
    /// it, or a cleaner of /tmp, where the default store lives), which would otherwise fail
    /// every new session until a restart.
    private func makeDirectories(of id: SessionID) throws {
        if try makePrivateDirectory(directory) { syncDirectory(of: directory) }
        var level = directory
        for character in id.text.utf8.prefix(fanOut) {
            level += "/" + SessionDirectory.levelName(character)
            if try makePrivateDirectory(level) { syncDirectory(of: level) }
        }
    }

    /// One attempt at an update through an open file, under its lock. False when the file was
    /// replaced meanwhile (a larger record renamed over it): the caller opens the path again.
    ///
    /// The lock ends when the caller closes the file, right after.
    private func update(_ file: SessionFile, at path: String, _ merge: (StoredSession?) throws -> [UInt8]?) throws -> Bool {
        try file.lock()
        let status = try file.status()
        if status.st_nlink == 0 {
            // Replaced: read the new file. Deleted (or cycled): gone, as that request wanted.
            if access(path, F_OK) == 0 { return false }
            return try merge(nil) == nil
        }
        let current = (try? file.read(lockedRead: false, known: status)) ?? nil
        guard let data = try merge(current) else { return true }
        let record = SessionRecord.encode(data: data, createdAt: current?.createdAt ?? clock.now)
        if record.count <= Self.inPlaceLimit {
            try file.write(record: record, modifiedAt: modificationTime, durability: durability, replacing: Int(status.st_size))
        } else {
            try replace(path, with: record, named: file.name)
        }
        return true
    }

    /// The largest record rewritten in place: one page, which a killed process cannot leave
    /// half-written (the kernel stops a multi-page write at a page boundary when SIGKILL comes).
    static let inPlaceLimit = Int(sysconf(Int32(_SC_PAGESIZE)))

    /// Puts a record larger than a page in place by writing a temporary file and renaming it
    /// over the old one: a crash leaves the old record or the new one, and at worst a stray
    /// temporary file that garbage collection removes.
    private func replace(_ path: String, with record: [UInt8], named name: SessionFileName) throws {
        let temporary = "\(path).tmp.\(SessionID.random().text.prefix(12))"
        let temporaryName = name.with(.temporary)
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw SessionError.backendFailed("cannot create \(temporaryName): \(errnoDescription())") }
        do {
            defer { close(descriptor) }
            try SessionFile(descriptor: descriptor, path: temporary, name: temporaryName)
                .write(record: record, modifiedAt: modificationTime, durability: durability, replacing: 0)
        } catch {
            unlink(temporary)
            throw error
        }
        guard rename(temporary, path) == 0 else {
            let cause = errno
            unlink(temporary)
            throw SessionError.backendFailed("cannot replace \(name): \(errnoDescription(cause))")
        }
        syncDirectory(of: path)
    }

    /// Removes the session's file under its lock, so that no save that already holds the lock
    /// can bring it back: such a save finishes first (a larger record renamed into place
    /// included), and the file removed is the one it left.
    public func delete(_ id: SessionID) throws {
        let path = self.path(of: id)
        let name = fileName(of: id)
        while true {
            let file: SessionFile
            do {
                guard let opened = try SessionFile(opening: path, named: name, writable: false) else { return }
                file = opened
            } catch SessionError.unreadable {
                // A symbolic link: removed as it is, never followed.
                return try unlinkFile(path, named: name)
            }
            defer { file.close() }
            try file.lock()
            // Replaced by a rename while we waited: remove what replaced it.
            if (try? file.isUnlinked()) == true { continue }
            return try unlinkFile(path, named: name)
        }
    }

    private func unlinkFile(_ path: String, named name: SessionFileName) throws {
        guard unlink(path) == 0 || errno == ENOENT else {
            throw SessionError.backendFailed("cannot remove \(name): \(errnoDescription())")
        }
        syncDirectory(of: path)
    }

    public func touch(_ id: SessionID) throws {
        let path = self.path(of: id)
        let now = clock.now
        var times = [timespec(tv_sec: now, tv_nsec: 0), timespec(tv_sec: now, tv_nsec: 0)]
        guard utimensat(AT_FDCWD, path, &times, AT_SYMLINK_NOFOLLOW) == 0 || errno == ENOENT else {
            throw SessionError.backendFailed("cannot touch \(fileName(of: id)): \(errnoDescription())")
        }
    }

    public func modifiedAt(_ id: SessionID) throws -> Int? {
        var status = stat()
        guard lstat(path(of: id), &status) == 0 else { return nil }
        return status.st_mtim.tv_sec
    }

    /// Opens the stored session's file for the rest of the request, so that its load and save
    /// share one open; with ``Locking/exclusive(timeout:)``, also takes the session's lock file.
    /// For a session that is not stored, a lease that remembers so: its load gives nil without
    /// opening the path a second time, and no lock file is made for an id nobody issued.
    ///
    /// The file is opened before the lock is taken, to make no lock file for an unknown id, and
    /// looked at again once it is held: a rename may have replaced it while this request waited,
    /// and the request must read what the holder before it left.
    public func lease(_ id: SessionID) throws -> (any SessionLease)? {
        try prepareDirectory()
        let path = self.path(of: id)
        let name = fileName(of: id)
        guard var file = try SessionFile(opening: path, named: name, writable: true) else { return NothingStoredLease.shared }
        var lockDescriptor: Int32 = -1
        do {
            if case .exclusive(let timeout) = locking {
                lockDescriptor = try lockExclusively(path + ".lock", named: name.with(.lock), timeout: timeout)
                if try file.isUnlinked() {
                    file.close()
                    guard let current = try SessionFile(opening: path, named: name, writable: true) else {
                        close(lockDescriptor)
                        return NothingStoredLease.shared
                    }
                    file = current
                }
            }
            return FileLease(file: file, status: try file.status(), lockDescriptor: lockDescriptor)
        } catch {
            file.close()
            if lockDescriptor >= 0 { close(lockDescriptor) }
            throw error
        }
    }

    public func load(_ id: SessionID, within lease: any SessionLease) throws -> StoredSession? {
        // Nothing was stored when the lease began, and nothing will be: ids are never reused.
        if lease is NothingStoredLease { return nil }
        guard let lease = lease as? FileLease, let file = lease.file else { return try load(id) }
        return try file.readSession(known: lease.status) ?? load(id)
    }

    public func update(_ id: SessionID, within lease: any SessionLease, _ merge: (StoredSession?) throws -> [UInt8]?) throws {
        guard let lease = lease as? FileLease, let file = lease.file else { return try update(id, merge) }
        // Closing the file after the save ends its lock: a later save of this request opens anew.
        defer { lease.closeFile() }
        if try !update(file, at: file.path, merge) { try update(id, merge) }
    }

    /// An exclusive `flock` on `path`, waiting up to `timeout` seconds.
    private func lockExclusively(_ path: String, named name: SessionFileName, timeout: Double) throws -> Int32 {
        let descriptor = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw SessionError.backendFailed("cannot open \(name): \(errnoDescription())") }
        var waited = 0.0
        var pause = 0.001
        while flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK || errno == EINTR, waited < timeout else {
                let cause = errno
                close(descriptor)
                if cause == EWOULDBLOCK || cause == EINTR { throw SessionError.lockTimeout(seconds: timeout) }
                throw SessionError.backendFailed("cannot lock \(name): \(errnoDescription(cause))")
            }
            usleep(UInt32(pause * 1_000_000))
            waited += pause
            pause = min(pause * 2, 0.02)
        }
        return descriptor
    }

    /// `directory/[c1/[c2/]]prefix<id>`; a `.` in the id names its level `_`.
    func path(of id: SessionID) -> String {
        let capacity = directory.utf8.count + 2 * fanOut + 1 + prefix.utf8.count + SessionID.length
        return ByteBlock.string(capacity: capacity) { path in
            path.append(directory)
            for character in id.text.utf8.prefix(fanOut) {
                path.append("/")
                path.append(SessionDirectory.levelName(character))
            }
            path.append("/")
            path.append(prefix)
            path.append(id.text)
        }
    }

    /// How messages name session `id`'s file.
    func fileName(of id: SessionID) -> SessionFileName {
        SessionFileName(id: id, directory: directory)
    }

    /// Makes the directory 0700 on first use, and refuses one that is not ours or is a link.
    private func prepareDirectory() throws {
        if directoryReady.load(ordering: .acquiring) { return }
        if try makePrivateDirectory(directory) { syncDirectory(of: directory) }
        directoryReady.store(true, ordering: .releasing)
    }

    /// With ``Durability/fsync``, syncs the directory holding `path`, whose entries changed (a
    /// file made, renamed or removed, a directory made), so that the change survives power loss.
    private func syncDirectory(of path: String) {
        guard durability == .fsync, let slash = path.lastIndex(of: "/") else { return }
        let parent = slash == path.startIndex ? "/" : String(path[..<slash])
        let descriptor = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { return }
        fsync(descriptor)
        close(descriptor)
    }
}

/// A request's hold on one session file: the file open from load to save, and with exclusive
/// locking the lock file's `flock`; both let go at `end()`.
final class FileLease: SessionLease {
    /// The session file, until the save closes it.
    private(set) var file: SessionFile?
    /// Its status when the lease began (owner checked).
    let status: stat
    /// The lock file's descriptor, holding its `flock`, with exclusive locking; else -1.
    private var lockDescriptor: Int32

    init(file: SessionFile, status: stat, lockDescriptor: Int32) {
        self.file = file
        self.status = status
        self.lockDescriptor = lockDescriptor
    }

    func closeFile() {
        file?.close()
        file = nil
    }

    func end() {
        closeFile()
        if lockDescriptor >= 0 { close(lockDescriptor) }
        lockDescriptor = -1
    }

    deinit { end() }
}

/// The lease on an id under which no session was stored: nothing to hold, nothing to load.
final class NothingStoredLease: SessionLease, Sendable {
    static let shared = NothingStoredLease()

    func end() {}
}

/// Makes `path` a directory of ours with mode 0700, or checks that it is one; true if it made it.
@discardableResult
func makePrivateDirectory(_ path: String) throws -> Bool {
    let made = mkdir(path, 0o700) == 0
    if !made, errno != EEXIST {
        throw SessionError.backendFailed("cannot make the session directory \(path): \(errnoDescription())")
    }
    guard try checkPrivateDirectory(path) else {
        throw SessionError.backendFailed("the session directory \(path) was removed as it was made")
    }
    return made
}

/// Checks that `path` is a directory of ours with mode 0700, and sets the mode if only that is
/// wrong; false if nothing is at `path`.
func checkPrivateDirectory(_ path: String) throws -> Bool {
    var status = stat()
    // withCString: passing the string itself would copy it into an array first, on every new session.
    guard path.withCString({ lstat($0, &status) }) == 0 else {
        if errno == ENOENT { return false }
        throw SessionError.backendFailed("cannot read \(path): \(errnoDescription())")
    }
    guard status.st_mode & S_IFMT == S_IFDIR else {
        throw SessionError.backendFailed("the session directory \(path) is not a directory (a symbolic link?)")
    }
    guard status.st_uid == effectiveUser else {
        throw SessionError.backendFailed("the session directory \(path) belongs to another user (uid \(status.st_uid))")
    }
    if status.st_mode & 0o777 != 0o700, chmod(path, 0o700) != 0 {
        throw SessionError.backendFailed("cannot make \(path) private (0700): \(errnoDescription())")
    }
    return true
}
