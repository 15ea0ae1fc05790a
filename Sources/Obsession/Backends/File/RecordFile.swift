import Glibc

/// One session file: the system calls that read a record, rewrite it in place, and put a new
/// or larger record in whole. The file store's only record I/O.
///
/// Messages name the file by `name`, never by its path (see ``SessionFileName``).
struct RecordFile: ~Copyable {
    private let file: FileDescriptor
    let path: String
    let name: SessionFileName

    /// Opens an existing session file; nil if there is none.
    init?(opening path: String, named name: SessionFileName, writable: Bool) throws {
        do {
            file = try FileDescriptor(opening: path, (writable ? O_RDWR : O_RDONLY) | O_NOFOLLOW)
        } catch {
            if error.rawValue == ENOENT || error.rawValue == ENOTDIR { return nil }
            if error.rawValue == ELOOP { throw SessionError.unreadable("\(name) is a symbolic link") }
            throw SessionError.backendFailed("cannot open \(name): \(error)", errno: error.rawValue)
        }
        self.path = path
        self.name = name
    }

    /// Takes the file's exclusive `flock`, waiting for its holder; it ends when the file closes.
    func lock() throws {
        try withErrno("cannot lock \(name)") { flock(file.rawValue, LOCK_EX) }
    }

    /// Whether the file was unlinked after it was opened: deleted, or replaced by a rename.
    func isUnlinked() throws -> Bool {
        try status().st_nlink == 0
    }

    /// The file's status, after checking it is a regular file of ours.
    func status() throws -> stat {
        var status = stat()
        try withErrno("cannot read \(name)") { fstat(file.rawValue, &status) }
        guard status.st_uid == effectiveUser else { throw SessionError.unreadable("\(name) belongs to another user (uid \(status.st_uid))") }
        guard status.st_mode & S_IFMT == S_IFREG else { throw SessionError.unreadable("\(name) is not a regular file") }
        return status
    }

    /// What the file holds, with its modification time, or nil if it is not one intact record.
    /// With `sharing`, under a shared lock, so that no writer is half-way. `known` is a status
    /// just taken, which spares taking it again.
    func read(sharing: Bool = false, known: stat? = nil) throws -> (contents: SessionRecord.Contents, modifiedAt: Int)? {
        if sharing { flock(file.rawValue, LOCK_SH) }
        defer { if sharing { flock(file.rawValue, LOCK_UN) } }
        let status = try sharing ? status() : known ?? status()
        let size = Int(status.st_size)
        guard size <= FileBackend.maxDataSize + SessionRecord.headerSize else {
            throw SessionError.unreadable("\(name) is \(size) bytes, larger than any session record")
        }
        // Read into scratch memory (on the stack when small); only the data is kept.
        let contents = try withUnsafeTemporaryAllocation(byteCount: max(size, 1), alignment: 8) { buffer in
            var offset = 0
            while offset < size {
                let count = try withErrno("cannot read \(name)") { pread(file.rawValue, buffer.baseAddress! + offset, size - offset, off_t(offset)) }
                if count == 0 { break }
                offset += count
            }
            return SessionRecord.decode(UnsafeRawBufferPointer(rebasing: buffer[0..<offset]))
        }
        guard status.st_nlink > 0, let contents else { return nil }
        return (contents, status.st_mtim.tv_sec)
    }

    /// Rewrites the record in place, over a file of `size` bytes: space first (so a full disk
    /// fails before the old record is touched), then one write, then the truncation of a longer
    /// old record's tail. A record of one page is never left half-written by a killed process.
    func write(record: [UInt8], replacing size: Int, stamp: Int?, durability: FileBackend.Durability) throws {
        if record.count > size, size > 0 {
            let result = posix_fallocate(file.rawValue, 0, off_t(record.count))
            guard result == 0 else { throw SessionError.backendFailed("cannot grow \(name): \(Errno(result))", errno: result) }
        }
        let written = try withErrno("cannot write \(name)") { record.withUnsafeBytes { pwrite(file.rawValue, $0.baseAddress, $0.count, 0) } }
        guard written == record.count else { throw SessionError.backendFailed("cannot write \(name): a short write", errno: ENOSPC) }
        if record.count < size {
            try withErrno("cannot truncate \(name)") { ftruncate(file.rawValue, off_t(record.count)) }
        }
        try finish(stamp: stamp, durability: durability)
    }

    /// Stamps the modification time (an injected clock's) and, with `.fsync`, waits for the disk.
    private func finish(stamp: Int?, durability: FileBackend.Durability) throws {
        if let stamp {
            var times = [timespec(tv_sec: stamp, tv_nsec: 0), timespec(tv_sec: stamp, tv_nsec: 0)]
            futimens(file.rawValue, &times)
        }
        if durability == .fsync {
            try withErrno("cannot sync \(name)") { fdatasync(file.rawValue) }
        }
    }

    /// Puts `record` in at `path` whole: written under a temporary name, then renamed over what
    /// is there (`replacing`) or linked in only if nothing is. A crash leaves the old file or the
    /// new one, and at worst a temporary file that garbage collection removes. False when
    /// linking found a file there.
    static func putWhole(_ record: [UInt8], at path: String, named name: SessionFileName, replacing: Bool,
                         stamp: Int?, durability: FileBackend.Durability) throws -> Bool {
        let temporary = FileLayout.temporaryPath(for: path)
        try writeNew(record, at: temporary, named: name.with(.temporary), stamp: stamp, durability: durability)
        if replacing {
            guard Glibc.rename(temporary, path) == 0 else {
                let cause = errno
                unlink(temporary)
                throw SessionError.backendFailed("cannot replace \(name): \(Errno(cause))", errno: cause)
            }
            return true
        }
        defer { unlink(temporary) }
        guard link(temporary, path) == 0 else {
            if errno == EEXIST { return false }
            throw SessionError.backendFailed("cannot create \(name): \(Errno.current)", errno: errno)
        }
        return true
    }

    /// Makes the file `path`, which must not exist, holding `record`. Throws with ENOENT when
    /// its directory is missing, and with EEXIST when the file is there. A failed write removes
    /// what it made.
    static func writeNew(_ record: [UInt8], at path: String, named name: SessionFileName,
                         stamp: Int?, durability: FileBackend.Durability) throws {
        let file: FileDescriptor
        do {
            file = try FileDescriptor(opening: path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode: 0o600)
        } catch {
            throw SessionError.backendFailed("cannot create \(name): \(error)", errno: error.rawValue)
        }
        let written = RecordFile(file, path: path, name: name)
        do {
            try written.write(record: record, replacing: 0, stamp: stamp, durability: durability)
        } catch {
            unlink(path)
            throw error
        }
    }

    private init(_ file: consuming FileDescriptor, path: String, name: SessionFileName) {
        self.file = file
        self.path = path
        self.name = name
    }
}

/// Calls a system function through `retryingInterrupts`, turning its failure into
/// ``SessionError/backendFailed(_:errno:)`` with a message that names what was being done.
@discardableResult
func withErrno<T: BinaryInteger>(_ what: @autoclosure () -> String, _ call: () -> T) throws(SessionError) -> T {
    do {
        return try retryingInterrupts(call)
    } catch {
        throw .backendFailed("\(what()): \(error)", errno: error.rawValue)
    }
}

/// This process's effective user, which owns every session file it accepts (read once).
let effectiveUser = geteuid()
