import Glibc

/// Makes `path` a directory of ours with mode 0700, or checks that it is one; true if it made it.
@discardableResult
func makePrivateDirectory(_ path: String) throws -> Bool {
    let made = mkdir(path, 0o700) == 0
    if !made, errno != EEXIST {
        throw SessionError.backendFailed("cannot make the session directory \(path): \(Errno.current)", errno: errno)
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
        throw SessionError.backendFailed("cannot read \(path): \(Errno.current)", errno: errno)
    }
    guard status.st_mode & S_IFMT == S_IFDIR else {
        throw SessionError.backendFailed("the session directory \(path) is not a directory (a symbolic link?)")
    }
    guard status.st_uid == effectiveUser else {
        throw SessionError.backendFailed("the session directory \(path) belongs to another user (uid \(status.st_uid))")
    }
    if status.st_mode & 0o777 != 0o700, chmod(path, 0o700) != 0 {
        throw SessionError.backendFailed("cannot make \(path) private (0700): \(Errno.current)", errno: errno)
    }
    return true
}
