import FastCGI
import Glibc

/// A session file in another program's format (PHP's, Perl's), handled as those programs do:
/// opened with `O_NOFOLLOW`, refused unless it is a regular file of this user, locked with
/// `flock`, read whole, and rewritten in place (its space claimed first, so a full disk leaves
/// the old content whole), never replaced by a rename, since the other program's processes
/// may be waiting on the inode they opened.
///
/// ```swift
/// guard let file = try InPlaceFile.opening(path) else { return nil }
/// try file.lock(exclusive: true, timeout: 30)
/// let bytes = try file.readAll(limit: 8 << 20)
/// try file.rewrite(newBytes, modified: now)
/// ```
package struct InPlaceFile: ~Copyable {
    /// Where the file is, for messages.
    package let path: String
    private let descriptor: FileDescriptor
    /// Why the file could be opened only for reading (a read-only mount, say); nil if writable.
    package let readOnly: Errno?

    private init(path: String, descriptor: consuming FileDescriptor, readOnly: Errno?) {
        self.path = path
        self.descriptor = descriptor
        self.readOnly = readOnly
    }

    /// Opens the file at `path` for reading and writing (for reading only where it cannot be
    /// written, and then saves say why); nil when there is none. Throws
    /// ``SessionError/unreadable(_:)`` for a link, a file that is not regular, or one of
    /// another user.
    package static func opening(_ path: String) throws -> InPlaceFile? {
        var readOnly: Errno?
        var opened: FileDescriptor?
        do {
            opened = try open(path, O_RDWR)
        } catch let error as Errno {
            opened = try open(path, O_RDONLY)
            readOnly = error
        }
        guard let descriptor = opened.take() else { return nil }
        let file = InPlaceFile(path: path, descriptor: descriptor, readOnly: readOnly)
        let status = try file.status()
        guard status.st_mode & S_IFMT == S_IFREG else { throw SessionError.unreadable("\(path) is not a regular file") }
        guard status.st_uid == effectiveUser else {
            throw SessionError.unreadable("\(path) belongs to another user (uid \(status.st_uid)): run as its program's user")
        }
        return file
    }

    /// Makes the file at `path` with `mode`, only where none is; nil when one is.
    package static func creating(_ path: String, mode: UInt32) throws -> InPlaceFile? {
        let descriptor: FileDescriptor
        do {
            descriptor = try FileDescriptor(opening: path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW, mode: mode)
        } catch {
            if error.rawValue == EEXIST { return nil }
            throw SessionError.backendFailed("cannot make \(path): \(error)", errno: error.rawValue)
        }
        fchmod(descriptor.rawValue, mode_t(mode))
        return InPlaceFile(path: path, descriptor: descriptor, readOnly: nil)
    }

    /// Opens with `flags` and `O_NOFOLLOW`: nil when there is no file, ``Errno`` for a file only
    /// a read-only open may get, ``SessionError`` for the rest.
    private static func open(_ path: String, _ flags: Int32) throws -> FileDescriptor? {
        do {
            return try FileDescriptor(opening: path, flags | O_NOFOLLOW)
        } catch {
            if error.rawValue == ENOENT { return nil }
            if error.rawValue == ELOOP { throw SessionError.unreadable("\(path) is a symbolic link") }
            if flags & O_RDWR != 0, error.rawValue == EROFS || error.rawValue == EACCES { throw error }
            throw SessionError.backendFailed("cannot open \(path): \(error)", errno: error.rawValue)
        }
    }

    /// Takes an exclusive or shared `flock`, waiting up to `timeout` seconds, then
    /// ``SessionError/lockTimeout(seconds:)``.
    package func lock(exclusive: Bool, timeout: Double) throws {
        try waitForLock(descriptor.rawValue, exclusive ? LOCK_EX : LOCK_SH, timeout: timeout, naming: path)
    }

    /// The file's modification time, in seconds since 1970.
    package func modificationTime() throws -> Int { Int(try status().st_mtim.tv_sec) }

    /// The file's status now.
    private func status() throws -> stat {
        var status = stat()
        guard fstat(descriptor.rawValue, &status) == 0 else {
            throw SessionError.backendFailed("cannot read \(path): \(Errno.current)", errno: errno)
        }
        return status
    }

    /// Whether the file was removed since it was opened (a logout while this request waited).
    package func isUnlinked() throws -> Bool { try status().st_nlink == 0 }

    /// The whole file; ``SessionError/unreadable(_:)`` beyond `limit` bytes.
    package func readAll(limit: Int) throws -> [UInt8] {
        let size = Int(try status().st_size)
        guard size <= limit else { throw SessionError.unreadable("\(path) is larger than \(limit) bytes") }
        var bytes = [UInt8](repeating: 0, count: size)
        var done = 0
        while done < size {
            let got = bytes.withUnsafeMutableBytes { pread(descriptor.rawValue, $0.baseAddress! + done, size - done, off_t(done)) }
            if got < 0, errno == EINTR { continue }
            guard got > 0 else { throw SessionError.backendFailed("cannot read \(path): \(Errno.current)", errno: errno) }
            done += got
        }
        return bytes
    }

    /// Writes `bytes` over the file in place, its space claimed first, then cut to their
    /// length; its modification time set to `modified` (seconds since 1970).
    package func rewrite(_ bytes: [UInt8], modified: Int) throws {
        if let readOnly { throw SessionError.backendFailed("cannot write \(path): \(readOnly)", errno: readOnly.rawValue) }
        if !bytes.isEmpty {
            let claimed = posix_fallocate(descriptor.rawValue, 0, off_t(bytes.count))
            guard claimed == 0 else { throw SessionError.backendFailed("cannot write \(path): \(Errno(claimed))", errno: claimed) }
        }
        var done = 0
        while done < bytes.count {
            let wrote = bytes.withUnsafeBytes { pwrite(descriptor.rawValue, $0.baseAddress! + done, bytes.count - done, off_t(done)) }
            if wrote < 0, errno == EINTR { continue }
            guard wrote > 0 else { throw SessionError.backendFailed("cannot write \(path): \(Errno.current)", errno: errno) }
            done += wrote
        }
        guard ftruncate(descriptor.rawValue, off_t(bytes.count)) == 0 else {
            throw SessionError.backendFailed("cannot write \(path): \(Errno.current)", errno: errno)
        }
        touch(at: modified)
    }

    /// Sets the file's modification time to `time`; a file opened only for reading is left alone.
    package func touch(at time: Int) {
        guard readOnly == nil else { return }
        var times = [timespec(tv_sec: time, tv_nsec: 0), timespec(tv_sec: time, tv_nsec: 0)]
        futimens(descriptor.rawValue, &times)
    }
}

/// Takes `flock(descriptor, operation)`, waiting up to `timeout` seconds with a back-off from 1
/// to 20 ms, then ``SessionError/lockTimeout(seconds:)``; `name` says which file in errors.
func waitForLock(_ descriptor: Int32, _ operation: Int32, timeout: Double, naming name: String) throws {
    var waited = 0.0
    var pause = 0.001
    while flock(descriptor, operation | LOCK_NB) != 0 {
        let cause = errno
        guard cause == EWOULDBLOCK || cause == EINTR else {
            throw SessionError.backendFailed("cannot lock \(name): \(Errno(cause))", errno: cause)
        }
        guard waited < timeout else { throw SessionError.lockTimeout(seconds: timeout) }
        usleep(UInt32(pause * 1_000_000))
        waited += pause
        pause = min(pause * 2, 0.02)
    }
}
