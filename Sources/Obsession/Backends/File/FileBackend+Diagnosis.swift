import Glibc

extension FileBackend {
    /// What `obsession doctor` checks in a file store: the directory's owner and mode, session
    /// files at another fan-out than this store's, stray temporary files and lock files,
    /// expired sessions not yet collected (idle past `idleTimeout`), and free space and inodes.
    /// Empty when all is well.
    ///
    /// ```swift
    /// let findings = try FileBackend(directory: "/var/lib/app/sessions").diagnose(idleTimeout: 1440)
    /// ```
    public func diagnose(idleTimeout: Int) throws -> [StoreFinding] {
        var findings: [StoreFinding] = []
        var status = stat()
        guard lstat(directory, &status) == 0 else {
            return [StoreFinding(problem: "\(directory) cannot be read: \(Errno.current)",
                                 advice: "check the path given to --store, and that this user may enter it")]
        }
        guard status.st_mode & S_IFMT == S_IFDIR else {
            // The store refuses it: nothing in it is read.
            return [StoreFinding(problem: "\(directory) is not a directory (a symbolic link?)",
                                 advice: "point the store at a real directory the server's user owns")]
        }
        if status.st_uid != geteuid() {
            findings.append(StoreFinding(problem: "\(directory) belongs to uid \(status.st_uid), not to this user (uid \(geteuid()))",
                                         advice: "run doctor as the server's user, or chown the directory to it"))
        }
        if status.st_mode & 0o077 != 0 {
            findings.append(StoreFinding(problem: "\(directory) has mode \(String(status.st_mode & 0o777, radix: 8)): others may look in",
                                         advice: "chmod 700 \(directory) (the server does it when it next makes a session)"))
        }
        findings += try diagnoseFiles(idleTimeout: idleTimeout)
        var space = statvfs()
        if statvfs(directory, &space) == 0 {
            if space.f_blocks > 0, space.f_bavail * 10 < space.f_blocks {
                findings.append(StoreFinding(problem: "the file system holding \(directory) is over 90 % full",
                                             advice: "free space there: a full disk fails every new session (503s)"))
            }
            if space.f_files > 0, space.f_favail * 10 < space.f_files {
                findings.append(StoreFinding(problem: "the file system holding \(directory) has under 10 % of its inodes left",
                                             advice: "collect expired sessions (obsession gc) or give the store a larger file system"))
            }
        }
        return findings
    }

    /// Files at other fan-outs, strays and expired sessions.
    private func diagnoseFiles(idleTimeout: Int) throws -> [StoreFinding] {
        var findings: [StoreFinding] = []
        let now = clock.now
        var expired = 0, temporary = 0, locks = 0
        _ = try SessionDirectory(layout: layout).forEachBatch(inLeaves: 0..<layout.leafCount) { leaf, entries in
            for entry in entries {
                var status = stat()
                guard fstatat(leaf.descriptor, entry.name, &status, AT_SYMLINK_NOFOLLOW) == 0 else { continue }
                switch entry.kind {
                case .session: if now - status.st_mtim.tv_sec > idleTimeout { expired += 1 }
                case .temporary: if now - status.st_mtim.tv_sec > 3600 { temporary += 1 }
                case .lock:
                    var session = stat()
                    if fstatat(leaf.descriptor, layout.sessionName(of: entry.name, kind: .lock), &session, AT_SYMLINK_NOFOLLOW) != 0 { locks += 1 }
                }
            }
            return true
        }
        if expired > 0 {
            findings.append(StoreFinding(problem: "\(expired) sessions idle for over \(idleTimeout) s are not collected yet",
                                         advice: "run obsession gc (a timer every few minutes), or check that the server's workers go idle"))
        }
        if temporary > 0 {
            findings.append(StoreFinding(problem: "\(temporary) temporary files over an hour old (writes a crash cut short)",
                                         advice: "run obsession gc, which removes them"))
        }
        if locks > 0 {
            findings.append(StoreFinding(problem: "\(locks) lock files whose session is gone", advice: "run obsession gc, which removes them"))
        }
        for fanOut in 0...2 where fanOut != self.fanOut {
            var other = 0
            let layout = FileLayout(directory: directory, prefix: prefix, fanOut: fanOut)
            _ = try SessionDirectory(layout: layout).forEachBatch(inLeaves: 0..<layout.leafCount) { _, entries in
                other += entries.count { $0.kind == .session }
                return true
            }
            if other > 0 {
                findings.append(StoreFinding(problem: "\(other) session files are laid out with fan-out \(fanOut), not \(self.fanOut)",
                                             advice: "give the store the fan-out it was made with, or collect the others with obsession gc --store 'file:\(directory)?fan-out=\(fanOut)'"))
            }
        }
        return findings
    }
}
