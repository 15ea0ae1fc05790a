import FastCGI
import Glibc
public import Obsession

/// CGI::Session's file driver (`cgisess_<id>` in a directory), read and written as CGI::Session
/// does, so that Perl CGI scripts and Swift pages share one login during a migration.
///
/// Its metadata is kept and updated as CGI::Session does: `_SESSION_ID`, `_SESSION_CTIME` (the
/// creation time), `_SESSION_ATIME` (the last access, renewed when a request that read the
/// session ends, as CGI::Session's `load` renews it), `_SESSION_ETIME` (a session expired by it is gone),
/// `_SESSION_REMOTE_ADDR`; Swift pages do not see these keys. A save re-reads the file under
/// an exclusive `flock` (CGI::Session reads under a shared one, writes under an exclusive one)
/// and applies only the keys its request changed, writing every other key back as it was,
/// blessed objects included; in place, as CGI::Session does.
///
/// ```swift
/// let backend = PerlFileBackend(directory: "/var/lib/app/cgi-sessions")        // Directory => …
/// let app = SessionMiddleware(application, idPersister: CookieIdPersistence(cookieName: "CGISESSID"),
///                             backend: backend)
/// ```
public final class PerlFileBackend: SessionBackend {
    /// The driver's `Directory`.
    public let directory: String
    /// The serializer CGI::Session was given.
    public let serializer: PerlSerializer
    /// Ids as CGI::Session's `md5` generator makes them: 32 hexadecimal digits.
    public let idFormat: SessionIDFormat
    /// Seconds a save waits for another process's lock on the file, then 503.
    public let lockTimeout: Double
    let clock: any SessionClock

    /// A store on CGI::Session's `directory`, written with `serializer`.
    ///
    /// ```swift
    /// let backend = PerlFileBackend(directory: "/tmp", serializer: .json)
    /// ```
    public init(directory: String, serializer: PerlSerializer = .default, idFormat: SessionIDFormat = .hex(length: 32),
                lockTimeout: Double = 30, clock: any SessionClock = SystemClock()) {
        self.directory = directory
        self.serializer = serializer
        self.idFormat = idFormat
        self.lockTimeout = lockTimeout
        self.clock = clock
    }

    /// Where session `id`'s file is: `directory/cgisess_<id>`.
    ///
    /// ```swift
    /// let file = backend.path(of: id)
    /// ```
    public func path(of id: SessionID) -> String { "\(directory)/cgisess_\(id.text)" }

    /// The session, read under a shared lock: its values without CGI::Session's metadata, begun
    /// at `_SESSION_CTIME`, last used at `_SESSION_ATIME`. Nil for none, and for one past its
    /// `_SESSION_ETIME`, which is removed as CGI::Session removes it.
    public func load(_ id: SessionID) throws -> StoredSession? {
        guard let file = try InPlaceFile.opening(path(of: id)) else { return nil }
        try file.lock(exclusive: false, timeout: lockTimeout)
        let entries = try read(file, id: id)
        let meta = Metadata(entries)
        if let lifetime = meta.expiry, lifetime > 0, meta.accessed + lifetime <= clock.now {
            try delete(id)
            return nil
        }
        let values = entries.reduce(into: [String: SessionValue]()) { values, entry in
            if !entry.key.hasPrefix("_SESSION_"), let value = entry.value { values[entry.key] = value }
        }
        return StoredSession(values: values, createdAt: meta.created ?? meta.accessed, modifiedAt: meta.accessed)
    }

    /// A new session's file where none is (with CGI::Session's metadata), or the request's
    /// changes applied under an exclusive lock, the access time renewed.
    public func apply(_ changes: SessionChanges, to id: SessionID) throws -> SessionChanges.Outcome {
        if case .create(let created) = changes.kind {
            guard let file = try InPlaceFile.creating(path(of: id), mode: 0o600) else { return .exists }
            try file.lock(exclusive: true, timeout: lockTimeout)
            let meta: [(String, SessionValue)] = [("_SESSION_ID", .string(id.text)), ("_SESSION_CTIME", .int(created)),
                                                  ("_SESSION_ATIME", .int(changes.time)), ("_SESSION_REMOTE_ADDR", .string(""))]
            let entries = try meta.map { PerlDumper.Entry(key: $0.0, text: try serializer.text(of: $0.1), value: $0.1) }
            try file.rewrite(try serializer.encode(try merged(entries, with: changes)), modified: changes.time)
            return .applied(revision: nil)
        }
        guard let file = try InPlaceFile.opening(path(of: id)) else { return .gone }
        try file.lock(exclusive: true, timeout: lockTimeout)
        guard try !file.isUnlinked() else { return .gone }
        let entries = try merged(try read(file, id: id), with: changes)
        try file.rewrite(try serializer.encode(entries), modified: changes.time)
        return .applied(revision: nil)
    }

    /// Removes the session's file, as CGI::Session's `delete` does.
    public func delete(_ id: SessionID) throws {
        guard unlink(path(of: id)) == 0 || errno == ENOENT else {
            throw SessionError.backendFailed("cannot remove \(path(of: id)): \(Errno.current)", errno: errno)
        }
    }

    /// Renews `_SESSION_ATIME`, as CGI::Session's `load` does on every access.
    public func touch(_ id: SessionID, at time: Int) throws {
        _ = try apply(SessionChanges(kind: .update(basedOn: nil), set: [:], removed: [], whole: [:], time: time), to: id)
    }

    /// The entries of `file`, checked to be the session `id` (CGI::Session's own check).
    private func read(_ file: borrowing InPlaceFile, id: SessionID) throws -> [PerlDumper.Entry] {
        let entries: [PerlDumper.Entry]
        do {
            entries = try serializer.decode(try file.readAll(limit: StoredSession.maxDataSize * 8))
        } catch let error as SessionError {
            throw error
        } catch {
            throw SessionError.unreadable("\(file.path): \(error)")
        }
        guard Metadata(entries).id == id.text else { throw SessionError.unreadable("\(file.path): its _SESSION_ID is not \(id.tag)'s") }
        return entries
    }

    /// `entries` with the request's keys set and removed, the rest as they were, and
    /// `_SESSION_ATIME` set to the changes' time. CGI::Session's own keys cannot be changed.
    private func merged(_ entries: [PerlDumper.Entry], with changes: SessionChanges) throws -> [PerlDumper.Entry] {
        var updated = entries.filter { !changes.removed.contains($0.key) || $0.key.hasPrefix("_SESSION_") }
        var set = changes.set.filter { !$0.key.hasPrefix("_SESSION_") }
        set["_SESSION_ATIME"] = .int(changes.time)
        for (key, value) in set.sorted(by: { $0.key < $1.key }) {
            let entry = PerlDumper.Entry(key: key, text: try serializer.text(of: value), value: value)
            if let index = updated.firstIndex(where: { $0.key == key }) { updated[index] = entry } else { updated.append(entry) }
        }
        return updated
    }
}

/// CGI::Session's metadata in a session's entries.
private struct Metadata {
    var id: String?
    var created: Int?
    var accessed = 0
    var expiry: Int?

    init(_ entries: [PerlDumper.Entry]) {
        for entry in entries {
            switch entry.key {
            case "_SESSION_ID": id = entry.value?.stringValue
            case "_SESSION_CTIME": created = Self.number(entry.value)
            case "_SESSION_ATIME": accessed = Self.number(entry.value) ?? 0
            case "_SESSION_ETIME": expiry = Self.number(entry.value)
            default: break
            }
        }
    }

    /// A number as Perl keeps it: bare, or a string of digits.
    private static func number(_ value: SessionValue?) -> Int? {
        value?.intValue ?? value?.stringValue.flatMap { Int($0) }
    }
}

extension PerlFileBackend: SessionHolding {
    /// Reads session `id` for a request, which renews its access time when it ends. No lock is
    /// held meanwhile: CGI::Session holds none between its reads and its writes.
    public func hold(_ id: SessionID) throws -> PerlFileHold? {
        try load(id).map { PerlFileHold(backend: self, id: id, stored: $0) }
    }
}

/// A request's hold on one CGI::Session file: the session as read, and, when the request ends
/// without saving, the renewal of `_SESSION_ATIME` that CGI::Session makes on every access.
///
/// ```swift
/// let hold = try backend.hold(id)
/// let stored = try hold?.load()
/// hold?.release()
/// ```
public final class PerlFileHold: SessionHold {
    private let backend: PerlFileBackend
    private let id: SessionID
    private var stored: StoredSession?
    private var renewed = false

    fileprivate init(backend: PerlFileBackend, id: SessionID, stored: StoredSession) {
        self.backend = backend
        self.id = id
        self.stored = stored
    }

    /// The session as read when the hold began; after that, from the file again.
    public func load() throws -> StoredSession? {
        guard let stored = stored.take() else { return try backend.load(id) }
        return stored
    }

    /// Saves `changes` (which renews the access time too).
    public func apply(_ changes: SessionChanges) throws -> SessionChanges.Outcome {
        renewed = true
        return try backend.apply(changes, to: id)
    }

    /// Renews the access time if no save did.
    public func release() {
        guard !renewed else { return }
        renewed = true
        do {
            try backend.touch(id, at: backend.clock.now)
        } catch {
            logLine("session \(id.tag): access time not renewed: \(error)", level: .warning)
        }
    }
}
