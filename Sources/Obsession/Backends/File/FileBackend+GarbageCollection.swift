internal import CFastCGI
import Glibc

extension FileBackend: SessionListing {
    /// Calls `body` with each stored session's id, leaf directory after leaf directory.
    public func forEachSession(_ body: (SessionID) throws -> Bool) throws {
        try SessionDirectory(layout: layout).forEachBatch { _, entries in
            for entry in entries where entry.kind == .session {
                if let id = layout.id(inName: entry.name), try !body(id) { return false }
            }
            return true
        }
    }
}

extension FileBackend: SessionGarbageCollecting {
    /// Removes session files idle since before `time`, lock files whose session is gone and
    /// temporary files a crash left; a file a writer holds locked is left for a later pass. The
    /// index of users' sessions loses the entries of sessions gone, in a pass over all of it
    /// (with `limit: .max`), or at most once an hour.
    ///
    /// A pass stops after `limit` removals, or at the end of a leaf directory once it has looked
    /// at 16 × `limit` files, and the next pass starts where it stopped: passes with a small
    /// limit, as idle workers make, stay short on a large store (with fan-out) and together go
    /// round all of it. With `limit: .max` a pass goes round once.
    ///
    /// ```swift
    /// let removed = try backend.collectGarbage(olderThan: SystemClock().now - 1440, limit: 10_000)
    /// ```
    public func collectGarbage(olderThan time: Int, limit: Int) throws -> Int {
        try sweepUserIndexIfDue(whole: limit == .max)
        let store = SessionDirectory(layout: layout)
        // A replacement a crash left behind: an hour is far longer than any write takes.
        let strayBefore = min(time, clock.now - 3600)
        let remove = { (entry: SessionDirectory.Entry, leaf: SessionDirectory.Leaf) -> Bool in
            switch entry.kind {
            case .session: self.removeIfUnlocked(entry.name, in: leaf, idleBefore: time)
            case .temporary: self.removeIfUnlocked(entry.name, in: leaf, idleBefore: strayBefore)
            case .lock: !self.exists(self.layout.sessionName(of: entry.name, kind: .lock), in: leaf)
                && self.removeIfUnlocked(entry.name, in: leaf, idleBefore: nil)
            }
        }
        let threads = Self.collectingThreads
        if limit == .max, layout.leafCount >= threads {
            // The whole store: its leaves shared among threads, whose unlinks then never wait
            // for one another on a directory.
            return try concurrently(threads) { part in
                Result { () throws -> Int in
                    var removed = 0
                    _ = try store.forEachBatch(inLeaves: stride(from: part, to: self.layout.leafCount, by: threads)) { leaf, entries in
                        removed += entries.count { remove($0, leaf) }
                        return true
                    }
                    return removed
                }
            }.reduce(0) { try $0 + $1.get() }
        }
        let lookLimit = limit.multipliedReportingOverflow(by: 16).overflow ? Int.max : limit * 16
        var removed = 0
        var looked = 0
        var currentLeaf = ""
        let start = collectionCursor.load(ordering: .relaxed)
        let next = try store.forEachBatch(fromLeaf: start) { leaf, entries in
            // Past the budget, stop as the next leaf begins.
            if leaf.path != currentLeaf {
                if looked >= lookLimit { return false }
                currentLeaf = leaf.path
            }
            looked += entries.count
            if entries.count >= Self.parallelBatch, limit - removed >= entries.count {
                // Unlinks of one directory overlap well: the inode is freed after the directory's lock is let go.
                removed += concurrently(threads) { part in
                    stride(from: part, to: entries.count, by: threads).count { remove(entries[$0], leaf) }
                }.reduce(0, +)
            } else {
                for entry in entries where removed < limit {
                    if remove(entry, leaf) { removed += 1 }
                }
            }
            return removed < limit
        }
        collectionCursor.store(next, ordering: .relaxed)
        return removed
    }

    /// A batch this large is shared among `collectingThreads` threads, when the pass may remove it whole.
    private static let parallelBatch = 2048
    /// One per processor, up to four.
    private static let collectingThreads = min(max(sysconf(Int32(_SC_NPROCESSORS_ONLN)), 1), 4)

    private func exists(_ name: [UInt8], in leaf: SessionDirectory.Leaf) -> Bool {
        var status = stat()
        return fstatat(leaf.descriptor, name, &status, AT_SYMLINK_NOFOLLOW) == 0 || errno != ENOENT
    }

    /// Unlinks `name` if no one holds its lock and (for a session) it is still idle since before
    /// `idleBefore`, checked under the lock.
    private func removeIfUnlocked(_ name: [UInt8], in leaf: SessionDirectory.Leaf, idleBefore: Int?) -> Bool {
        var status = stat()
        if let idleBefore {
            guard fstatat(leaf.descriptor, name, &status, AT_SYMLINK_NOFOLLOW) == 0, status.st_mtim.tv_sec < idleBefore else { return false }
        }
        let opened = name.withUnsafeBufferPointer { name in
            obsession_openat(leaf.descriptor, UnsafeRawPointer(name.baseAddress!).assumingMemoryBound(to: CChar.self),
                             O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        }
        guard opened >= 0 else { return false }
        let file = FileDescriptor(opened)
        guard flock(file.rawValue, LOCK_EX | LOCK_NB) == 0, fstat(file.rawValue, &status) == 0, status.st_uid == effectiveUser,
              status.st_nlink > 0 else { return false }
        if let idleBefore, status.st_mtim.tv_sec >= idleBefore { return false }
        return unlinkat(leaf.descriptor, name, 0) == 0
    }
}
