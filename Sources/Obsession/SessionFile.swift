import Glibc

/// One open session file: the system calls of reading and rewriting a record in place.
///
/// Messages name the file by `name`, never by its path (see ``SessionFileName``).
struct SessionFile {
    let descriptor: Int32
    let path: String
    let name: SessionFileName

    /// Opens an existing session file; nil if there is none.
    init?(opening path: String, named name: SessionFileName, writable: Bool) throws {
        // withCString: passing the string itself would copy it into an array first.
        let descriptor = path.withCString { open($0, (writable ? O_RDWR : O_RDONLY) | O_NOFOLLOW | O_CLOEXEC) }
        guard descriptor >= 0 else {
            if errno == ENOENT || errno == ENOTDIR { return nil }
            if errno == ELOOP { throw SessionError.unreadable("\(name) is a symbolic link") }
            throw SessionError.backendFailed("cannot open \(name): \(errnoDescription())")
        }
        self.descriptor = descriptor
        self.path = path
        self.name = name
    }

    /// Makes the session file `path` holding `record`; false if another request made it first.
    /// When its directory is missing, calls `makeDirectories` and tries once more.
    ///
    /// A record of one page is written straight into the new file: a crash can leave it empty
    /// (which reads as missing, for a session that never reached its client) but not half
    /// written. A larger one is written under a temporary name and linked into place whole.
    static func create(_ path: String, named name: SessionFileName, record: [UInt8], modifiedAt: Int?, durability: FileBackend.Durability,
                       makeDirectories: () throws -> Void) throws -> Bool {
        let direct = record.count <= FileBackend.inPlaceLimit
        let target = direct ? path : "\(path).tmp.\(SessionID.random().text.prefix(12))"
        let createTarget = { target.withCString { open($0, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600) } }
        var descriptor = createTarget()
        if descriptor < 0, errno == ENOENT {
            try makeDirectories()
            descriptor = createTarget()
        }
        guard descriptor >= 0 else {
            if errno == EEXIST { return false }
            throw SessionError.backendFailed("cannot create \(name): \(errnoDescription())")
        }
        do {
            defer { Glibc.close(descriptor) }
            try SessionFile(descriptor: descriptor, path: target, name: name)
                .write(record: record, modifiedAt: modifiedAt, durability: durability, replacing: 0)
        } catch {
            unlink(target)
            throw error
        }
        guard !direct else { return true }
        defer { unlink(target) }
        guard link(target, path) == 0 else {
            if errno == EEXIST { return false }
            throw SessionError.backendFailed("cannot create \(name): \(errnoDescription())")
        }
        return true
    }

    /// Wraps a descriptor this backend opened.
    init(descriptor: Int32, path: String, name: SessionFileName) {
        self.descriptor = descriptor
        self.path = path
        self.name = name
    }

    func close() { Glibc.close(descriptor) }

    func lock() throws {
        while flock(descriptor, LOCK_EX) != 0 {
            guard errno == EINTR else { throw SessionError.backendFailed("cannot lock \(name): \(errnoDescription())") }
        }
    }

    /// Whether the file was unlinked after we opened it (a delete or a cycle won the race).
    func isUnlinked() throws -> Bool {
        try status().st_nlink == 0
    }

    /// The file's status, after checking it is a regular file of ours.
    func status() throws -> stat {
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw SessionError.backendFailed("cannot read \(name): \(errnoDescription())") }
        guard status.st_uid == effectiveUser else { throw SessionError.unreadable("\(name) belongs to another user (uid \(status.st_uid))") }
        guard status.st_mode & S_IFMT == S_IFREG else { throw SessionError.unreadable("\(name) is not a regular file") }
        return status
    }

    /// The stored session, or nil if the file does not hold an intact record. With `lockedRead`,
    /// under a shared lock, so that no writer is half-way. `known` is a status just taken, to save
    /// taking it again.
    func read(lockedRead: Bool, known: stat? = nil) throws -> StoredSession? {
        if lockedRead { flock(descriptor, LOCK_SH) }
        defer { if lockedRead { flock(descriptor, LOCK_UN) } }
        let status = try lockedRead ? self.status() : known ?? self.status()
        let size = Int(status.st_size)
        guard size <= FileBackend.maxDataSize + SessionRecord.headerSize else {
            throw SessionError.unreadable("\(name) is \(size) bytes, larger than any session record")
        }
        // Read into scratch memory (on the stack when small); only the data is kept.
        let record = try withUnsafeTemporaryAllocation(byteCount: max(size, 1), alignment: 8) { buffer in
            var offset = 0
            while offset < size {
                let count = pread(descriptor, buffer.baseAddress! + offset, size - offset, off_t(offset))
                if count < 0, errno == EINTR { continue }
                guard count >= 0 else { throw SessionError.backendFailed("cannot read \(name): \(errnoDescription())") }
                if count == 0 { break }
                offset += count
            }
            return SessionRecord.decode(UnsafeRawBufferPointer(rebasing: buffer[0..<offset]))
        }
        guard status.st_nlink > 0, let (data, createdAt) = record else { return nil }
        return StoredSession(data: data, createdAt: createdAt, modifiedAt: status.st_mtim.tv_sec)
    }

    /// The session this file holds, or nil if the file was unlinked since it was opened (deleted,
    /// or replaced by a larger record). A failed first read is repeated under a shared lock, in
    /// case a writer was between its write and its truncate; still not intact, it is unreadable.
    func readSession(known: stat? = nil) throws -> StoredSession? {
        if let stored = try read(lockedRead: false, known: known) { return stored }
        if try isUnlinked() { return nil }
        guard let stored = try read(lockedRead: true) else {
            throw SessionError.unreadable("\(name) is not an intact session record")
        }
        return stored
    }

    /// Rewrites the record in place: space first (so a full disk fails before the old record is
    /// touched; a new file has none to keep), then one write, then the truncation of a longer old
    /// record's tail.
    /// Writes `record` over a file of `size` bytes (0 for a new file: nothing to keep).
    func write(record: [UInt8], modifiedAt: Int?, durability: FileBackend.Durability, replacing size: Int) throws {
        guard record.count <= FileBackend.maxDataSize + SessionRecord.headerSize else {
            throw SessionError.backendFailed("a session of \(record.count - SessionRecord.headerSize) bytes is over the limit of \(FileBackend.maxDataSize)")
        }
        if record.count > size, size > 0 {
            let result = posix_fallocate(descriptor, 0, off_t(record.count))
            guard result == 0 else { throw SessionError.backendFailed("cannot grow \(name): \(errnoDescription(result))") }
        }
        let written = record.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, 0) }
        guard written == record.count else { throw SessionError.backendFailed("cannot write \(name): \(errnoDescription())") }
        if record.count < size, ftruncate(descriptor, off_t(record.count)) != 0 {
            throw SessionError.backendFailed("cannot truncate \(name): \(errnoDescription())")
        }
        if let modifiedAt {
            var times = [timespec(tv_sec: modifiedAt, tv_nsec: 0), timespec(tv_sec: modifiedAt, tv_nsec: 0)]
            futimens(descriptor, &times)
        }
        if durability == .fsync, fdatasync(descriptor) != 0 {
            throw SessionError.backendFailed("cannot sync \(name): \(errnoDescription())")
        }
    }
}

/// This process's effective user, which owns every session file it accepts (read once).
let effectiveUser = geteuid()
