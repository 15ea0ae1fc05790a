// obsession: maintenance of a session store from the command line (and from a timer). The
// installed `obsession` (Sources/ObsessionLauncher) runs scripts itself and hands the rest here.
//
//     obsession gc --sessions DIR [--prefix s_] [--fan-out 0|1|2] [--idle-timeout SECONDS] [--limit N]
import ArgumentParser
import Obsession

/// The `obsession` command: one subcommand for each thing an operator does to a store.
@main
struct ObsessionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "obsession", abstract: "Look after a store of Obsession sessions.",
        discussion: """
            Single-file scripts:
              obsession script FILE.swift [ARGS...]  compile it if changed, then run it
              obsession build FILE.swift -o PROGRAM  compile it ahead of time
            """,
        subcommands: [Collect.self])
}

/// `obsession gc`: removes the session files idle for longer than the idle timeout, lock files
/// whose session is gone, and temporary files a crash left; prints how many and how long it took.
struct Collect: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gc", abstract: "Remove expired sessions, stray lock files and temporary files a crash left.")

    @Option(help: "The file store's directory.")
    var sessions: String

    @Option(help: "What every session file's name starts with.")
    var prefix = "s_"

    @Option(help: "Levels of subdirectories the store was made with (0, 1 or 2).")
    var fanOut = 0

    @Option(help: "Seconds without use after which a session has expired.")
    var idleTimeout = 1440

    @Option(help: "The most files to remove in this pass (default: all).")
    var limit = Int.max

    func validate() throws {
        guard (0...2).contains(fanOut) else { throw ValidationError("--fan-out wants 0, 1 or 2, not \(fanOut)") }
        guard idleTimeout >= 0, limit >= 0 else { throw ValidationError("--idle-timeout and --limit want numbers of 0 or more") }
    }

    func run() throws {
        let backend = FileBackend(directory: sessions, prefix: prefix, fanOut: fanOut)
        let started = MonotonicClock.now
        let removed = try backend.collectGarbage(olderThan: SystemClock().now - idleTimeout, limit: limit)
        print("removed \(removed) files in \(Int((MonotonicClock.now - started) * 1000)) ms")
    }
}
