import Glibc

extension FileBackend: SessionUserIndexing {
    /// The ids in `user`'s index directory (see ``FileLayout/userIndexPath(of:)``): an empty
    /// file per session, made before the session first stores the user.
    public func recordedSessions(ofUser user: String) throws -> [SessionID] {
        try Self.names(in: layout.userIndexPath(of: user)).compactMap { SessionID(validating: $0) }
    }

    /// Removes `id`'s entry from `user`'s index directory, and the directory once empty; but
    /// an entry under a minute old whose session file is not there is kept: a login writes its
    /// entry before its session, so that may be a login on its way (an extra entry is harmless,
    /// a missing one is not).
    public func forget(_ id: SessionID, ofUser user: String) throws {
        let path = layout.userIndexPath(of: user)
        let entry = path + "/" + id.text
        guard !Self.isYoung(entry) || access(layout.path(of: id), F_OK) == 0 else { return }
        guard unlink(entry) == 0 else {
            guard errno == ENOENT else { throw SessionError.backendFailed("cannot remove \(path)/\(id.tag): \(Errno.current)", errno: errno) }
            return
        }
        syncDirectory(of: entry)
        rmdir(path)
    }

    /// Records `id` in the index of the user `changes` log it in as, if they do: called before
    /// the changes are applied, so the index never misses a session of the user.
    ///
    /// A user's directory goes once it is empty (``forget(_:ofUser:)``, the sweep), which may
    /// happen between making it and making the entry in it: then it is made again.
    func recordUser(of changes: SessionChanges, for id: SessionID) throws {
        guard let user = changes.user else { return }
        try prepareDirectory()
        let path = layout.userIndexPath(of: user)
        let entry = path + "/" + id.text
        for attempt in 1...Self.indexAttempts {
            do {
                // With durability .fsync, each directory made or changed is synced, as the session's own.
                if try makePrivateDirectory(layout.userIndexDirectory) { syncDirectory(of: layout.userIndexDirectory) }
                if try makePrivateDirectory(path) { syncDirectory(of: path) }
            } catch where attempt < Self.indexAttempts {
                continue
            }
            let descriptor = open(entry, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o600)
            if descriptor >= 0 {
                close(descriptor)
                syncDirectory(of: entry)
                return
            }
            guard errno == ENOENT, attempt < Self.indexAttempts else { break }
        }
        throw SessionError.backendFailed("cannot record the session in \(path): \(Errno.current)", errno: errno)
    }

    /// How many times a user's directory removed under a new entry is made again.
    private static let indexAttempts = 8

    /// Removes the index entries whose session file is gone (expired, deleted, never written),
    /// if `whole` or an hour has passed since the last sweep; returns how many went.
    @discardableResult
    func sweepUserIndexIfDue(whole: Bool) throws -> Int {
        let now = clock.now, last = userIndexSwept.load(ordering: .relaxed)
        guard whole || now - last >= 3600,
              userIndexSwept.compareExchange(expected: last, desired: now, ordering: .relaxed).exchanged else { return 0 }
        var removed = 0
        for user in try Self.names(in: layout.userIndexDirectory) {
            let path = layout.userIndexDirectory + "/" + user
            for name in try Self.names(in: path) {
                guard let id = SessionID(validating: name), !Self.isYoung(path + "/" + name),
                      access(layout.path(of: id), F_OK) != 0, errno == ENOENT else { continue }
                if unlink(path + "/" + name) == 0 { removed += 1 }
            }
            rmdir(path)
        }
        return removed
    }

    /// Whether the index entry at `entry` was made in the last minute (real time: it is the
    /// file's): maybe a login between its two writes, whose session file is not there yet.
    private static func isYoung(_ entry: String) -> Bool {
        var status = stat()
        return lstat(entry, &status) == 0 && time(nil) - status.st_mtim.tv_sec < 60
    }

    /// The names in directory `path` but `.` and `..`; none if it does not exist.
    private static func names(in path: String) throws -> [String] {
        guard let stream = opendir(path) else {
            if errno == ENOENT { return [] }
            throw SessionError.backendFailed("cannot list \(path): \(Errno.current)", errno: errno)
        }
        defer { closedir(stream) }
        var names: [String] = []
        while let entry = readdir(stream) {
            // Read in place: the record is only as long as its name (see SessionDirectory).
            let name = String(cString: UnsafeRawPointer(entry.pointer(to: \.d_name)!).assumingMemoryBound(to: CChar.self))
            if name != ".", name != ".." { names.append(name) }
        }
        return names
    }
}
