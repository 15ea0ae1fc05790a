import Glibc
import Synchronization

/// Sessions in files, one per session, in a directory only this user can enter.
///
/// Each file is a checksummed record (see `SessionRecord`) rewritten in place under an
/// exclusive `flock`: about the cost of one small write, where replacing the file by rename
/// costs 30–50 times more. A record cut short by a crash fails its checksum and reads as
/// missing. The directory is made 0700 and files 0600 whatever the umask; files are opened
/// with `O_NOFOLLOW`, and a file another user owns is refused. When the disk is full the
/// space is claimed before the old record is touched, so a failed save leaves it intact.
///
/// ```swift
/// let backend = FileBackend(directory: "/var/lib/app/sessions", prefix: "session_")
/// ```
public final class FileBackend: SessionBackend {
    /// The directory holding the session files.
    public let directory: String
    /// What every session file's name starts with, before the id.
    public let prefix: String
    private let clock: any SessionClock
    private let directoryReady = Atomic<Bool>(false)
    /// The most data one session may hold.
    static let maxDataSize = 1 << 20

    /// A backend storing files `directory/prefix<id>`; the directory is made (0700) on first use.
    /// By default: `obsession-sessions-<uid>` under `$TMPDIR` or `/tmp`, and the prefix `s_`.
    ///
    /// ```swift
    /// let backend = FileBackend(directory: "/tmp/session-store", prefix: "session_")
    /// ```
    public init(directory: String? = nil, prefix: String = "s_", clock: any SessionClock = SystemClock()) {
        self.directory = directory ?? Self.defaultDirectory()
        self.prefix = prefix
        self.clock = clock
    }

    /// `$TMPDIR/obsession-sessions-<uid>`, or under `/tmp`.
    public static func defaultDirectory() -> String {
        let temporary = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
        return "\(temporary)/obsession-sessions-\(geteuid())"
    }

    public func load(_ id: SessionID) throws -> StoredSession? {
        try prepareDirectory()
        let path = self.path(of: id)
        let descriptor = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        if descriptor < 0 {
            if errno == ENOENT { return nil }
            if errno == ELOOP { throw SessionError.unreadable("\(path) is a symbolic link") }
            throw SessionError.backendFailed("cannot open \(path): \(errnoText())")
        }
        defer { close(descriptor) }
        let status = try ownStatus(descriptor, path)
        var record = try readAll(descriptor, size: Int(status.st_size), path)
        if SessionRecord.decode(record) == nil {
            // A writer may be between its write and its truncate: look again under its lock.
            flock(descriptor, LOCK_SH)
            defer { flock(descriptor, LOCK_UN) }
            var current = stat()
            fstat(descriptor, &current)
            record = try readAll(descriptor, size: Int(current.st_size), path)
        }
        guard let (data, createdAt) = SessionRecord.decode(record) else {
            throw SessionError.unreadable("\(path) is not an intact session record")
        }
        return StoredSession(data: data, createdAt: createdAt, modifiedAt: status.st_mtim.tv_sec)
    }

    public func save(_ id: SessionID, data: [UInt8]) throws {
        guard data.count <= Self.maxDataSize else {
            throw SessionError.backendFailed("session \(id.text.prefix(8))… holds \(data.count) bytes, over the limit of \(Self.maxDataSize)")
        }
        try prepareDirectory()
        let path = self.path(of: id)
        let descriptor = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            if errno == ELOOP { throw SessionError.unreadable("\(path) is a symbolic link") }
            throw SessionError.backendFailed("cannot open \(path) for writing: \(errnoText())")
        }
        defer { close(descriptor) }
        var status = try ownStatus(descriptor, path)
        guard flock(descriptor, LOCK_EX) == 0 else { throw SessionError.backendFailed("cannot lock \(path): \(errnoText())") }
        defer { flock(descriptor, LOCK_UN) }
        fstat(descriptor, &status)
        let now = clock.now
        var header = [UInt8](repeating: 0, count: 16)
        let headerRead = status.st_size >= 16 ? pread(descriptor, &header, 16, 0) : 0
        let createdAt = headerRead == 16 ? SessionRecord.createdAt(inHeader: header) ?? now : now
        let record = SessionRecord.encode(data: data, createdAt: createdAt)
        if record.count > Int(status.st_size) {
            let result = posix_fallocate(descriptor, 0, off_t(record.count))
            guard result == 0 else { throw SessionError.backendFailed("cannot grow \(path): \(errnoText(result))") }
        }
        let written = record.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, 0) }
        guard written == record.count else { throw SessionError.backendFailed("cannot write \(path): \(errnoText())") }
        if record.count < Int(status.st_size), ftruncate(descriptor, off_t(record.count)) != 0 {
            throw SessionError.backendFailed("cannot truncate \(path): \(errnoText())")
        }
        var times = [timespec(tv_sec: now, tv_nsec: 0), timespec(tv_sec: now, tv_nsec: 0)]
        futimens(descriptor, &times)
    }

    public func delete(_ id: SessionID) throws {
        let path = self.path(of: id)
        guard unlink(path) == 0 || errno == ENOENT else {
            throw SessionError.backendFailed("cannot remove \(path): \(errnoText())")
        }
    }

    public func touch(_ id: SessionID) throws {
        let path = self.path(of: id)
        let now = clock.now
        var times = [timespec(tv_sec: now, tv_nsec: 0), timespec(tv_sec: now, tv_nsec: 0)]
        guard utimensat(AT_FDCWD, path, &times, AT_SYMLINK_NOFOLLOW) == 0 || errno == ENOENT else {
            throw SessionError.backendFailed("cannot touch \(path): \(errnoText())")
        }
    }

    public func keys() throws -> [SessionID] {
        guard let stream = opendir(directory) else {
            if errno == ENOENT { return [] }
            throw SessionError.backendFailed("cannot list \(directory): \(errnoText())")
        }
        defer { closedir(stream) }
        var ids: [SessionID] = []
        while let entry = readdir(stream) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            if name.hasPrefix(prefix), let id = SessionID(validating: String(name.dropFirst(prefix.count))) { ids.append(id) }
        }
        return ids
    }

    public func modifiedAt(_ id: SessionID) throws -> Int? {
        var status = stat()
        guard lstat(path(of: id), &status) == 0 else { return nil }
        return status.st_mtim.tv_sec
    }

    private func path(of id: SessionID) -> String { "\(directory)/\(prefix)\(id.text)" }

    /// Makes the directory 0700 on first use, and refuses one that is not ours or is a link.
    private func prepareDirectory() throws {
        if directoryReady.load(ordering: .acquiring) { return }
        if mkdir(directory, 0o700) != 0, errno != EEXIST {
            throw SessionError.backendFailed("cannot make the session directory \(directory): \(errnoText())")
        }
        var status = stat()
        guard lstat(directory, &status) == 0 else { throw SessionError.backendFailed("cannot read \(directory): \(errnoText())") }
        guard status.st_mode & S_IFMT == S_IFDIR else {
            throw SessionError.backendFailed("the session directory \(directory) is not a directory (a symbolic link?)")
        }
        guard status.st_uid == geteuid() else {
            throw SessionError.backendFailed("the session directory \(directory) belongs to another user (uid \(status.st_uid))")
        }
        if status.st_mode & 0o777 != 0o700, chmod(directory, 0o700) != 0 {
            throw SessionError.backendFailed("cannot make \(directory) private (0700): \(errnoText())")
        }
        directoryReady.store(true, ordering: .releasing)
    }

    private func ownStatus(_ descriptor: Int32, _ path: String) throws -> stat {
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw SessionError.backendFailed("cannot read \(path): \(errnoText())") }
        guard status.st_uid == geteuid() else { throw SessionError.unreadable("\(path) belongs to another user (uid \(status.st_uid))") }
        guard status.st_mode & S_IFMT == S_IFREG else { throw SessionError.unreadable("\(path) is not a regular file") }
        return status
    }

    /// The file's bytes; a file larger than any record we write (1 MiB of data) is unreadable.
    private func readAll(_ descriptor: Int32, size: Int, _ path: String) throws -> [UInt8] {
        guard size <= Self.maxDataSize + SessionRecord.headerSize else {
            throw SessionError.unreadable("\(path) is \(size) bytes, larger than any session record")
        }
        var bytes = [UInt8](repeating: 0, count: size)
        var offset = 0
        while offset < size {
            let count = bytes.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress! + offset, size - offset, off_t(offset)) }
            if count < 0, errno == EINTR { continue }
            guard count >= 0 else { throw SessionError.backendFailed("cannot read \(path): \(errnoText())") }
            if count == 0 { break }
            offset += count
        }
        return offset == size ? bytes : Array(bytes[..<offset])
    }
}

func errnoText(_ code: Int32 = errno) -> String {
    String(cString: strerror(code)).lowercased()
}
