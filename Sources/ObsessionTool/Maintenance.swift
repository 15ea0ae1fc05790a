import ArgumentParser
import Obsession
import ObsessionRedis

/// `obsession rm ID`: ends one session.
struct Remove: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rm", abstract: "End one session (by id, or by its tag).")
    @Argument(help: "The session's id, or its 8-character tag.") var id: String
    @OptionGroup var store: StoreOption

    func run() throws {
        let removed = try withStore { () throws -> Bool in
            let backend = try store.open()
            guard let row = try findSession(id, in: backend) else { return false }
            try backend.delete(row.id, loggedInAs: row.stored.user)
            return true
        }
        guard removed else {
            printError("obsession: no session \(id)")
            throw notFound
        }
        print("removed session \(id)")
    }
}

/// `obsession logout-user USER`: ends every session of a user.
struct LogoutUser: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "logout-user", abstract: "End every session of a user.")
    @Argument(help: "The user, as the application logged the sessions in.") var user: String
    @OptionGroup var store: StoreOption

    func run() throws {
        let ended = try withStore { try store.open().logOut(user: user) }
        print("ended \(ended) sessions of \(user)")
        if ended == 0 { throw notFound }
    }
}

/// `obsession gc`: removes the sessions idle for longer than the idle timeout, lock files whose
/// session is gone, and temporary files a crash left; prints how many and how long it took.
struct Collect: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gc", abstract: "Remove expired sessions, stray lock files and temporary files a crash left.")

    @Option(help: ArgumentHelp("The store (file:/path?fan-out=N&prefix=P); Redis expires its sessions itself.", valueName: "url"))
    var store: StoreURL?

    @Option(help: "The file store's directory (as --store file:DIR).")
    var sessions: String?

    @Option(help: "What every session file's name starts with (with --sessions).")
    var prefix = "s_"

    @Option(help: "Levels of subdirectories the store was made with: 0, 1 or 2 (with --sessions).")
    var fanOut = 0

    @Option(help: "Seconds without use after which a session has expired.")
    var idleTimeout = 1440

    @Option(help: "The most files to remove in this pass (default: all).")
    var limit = Int.max

    func validate() throws {
        guard (0...2).contains(fanOut) else { throw ValidationError("--fan-out wants 0, 1 or 2, not \(fanOut)") }
        guard idleTimeout >= 0, limit >= 0 else { throw ValidationError("--idle-timeout and --limit want numbers of 0 or more") }
        guard (store == nil) != (sessions == nil) else { throw ValidationError("name the store with --store URL (or --sessions DIR)") }
    }

    func run() throws {
        let backend: any SessionBackend = try withStore { () throws -> any SessionBackend in
            if let store { try store.open() } else { FileBackend(directory: sessions, prefix: prefix, fanOut: fanOut) }
        }
        guard let collector = backend.garbageCollection else {
            print("nothing to collect: this store expires its sessions itself")
            return
        }
        let started = MonotonicClock.now
        let removed = try withStore { try collector.collectGarbage(olderThan: SystemClock().now - idleTimeout, limit: limit) }
        print("removed \(removed) files in \(Int((MonotonicClock.now - started) * 1000)) ms")
    }
}

/// `obsession doctor`: what is wrong with the store, each finding with what to do.
struct Doctor: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check the store: permissions, fan-out, stray files, uncollected sessions, free space; Redis's eviction and persistence.",
        discussion: "Exit status 0: nothing found; 1: findings; 3: the store could not be checked.")
    @OptionGroup var store: StoreOption
    @Option(help: "Seconds without use after which a session has expired (files).") var idleTimeout = 1440
    @Flag(help: "The findings as JSON.") var json = false

    func run() throws {
        let findings = try withStore { () throws -> [StoreFinding] in
            let backend = try store.open()
            if let files = backend as? FileBackend { return try files.diagnose(idleTimeout: idleTimeout) }
            if let redis = backend as? RedisBackend { return try redis.diagnose() }
            try backend.checkHealth()
            return []
        }
        if json {
            print(SessionValue.array(findings.map { .object(["problem": .string($0.problem), "advice": .string($0.advice)]) }).description)
        } else if findings.isEmpty {
            print("no problems found in \(store.store.text)")
        } else {
            for finding in findings { print("problem: \(finding.problem)\n    fix: \(finding.advice)") }
        }
        if !findings.isEmpty { throw notFound }
    }
}
