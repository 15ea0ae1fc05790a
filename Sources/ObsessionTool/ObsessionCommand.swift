// obsession: looking into and after a session store from the command line (and from a timer).
// The installed `obsession` (Sources/ObsessionLauncher) runs scripts itself and hands the rest here.
//
//     obsession list|stats|doctor --store URL [--json]
//     obsession show|rm ID --store URL
//     obsession logout-user USER --store URL
//     obsession gc --store URL [--idle-timeout SECONDS] [--limit N]
import ArgumentParser
import Glibc
import Obsession

/// The `obsession` command: one subcommand for each thing an operator does to a store.
@main
struct ObsessionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "obsession", abstract: "Look into and after a store of Obsession sessions.",
        discussion: """
            Exit status: 0 done (doctor: nothing found), 1 not found (doctor: findings), 3 the store failed, 64 a bad command line.

            Single-file scripts:
              obsession script FILE.swift [ARGS...]  compile it if changed, then run it
              obsession build FILE.swift -o PROGRAM  compile it ahead of time
            """,
        subcommands: [List.self, Show.self, Remove.self, LogoutUser.self, Collect.self, Stats.self, Doctor.self])
}

/// The exit status of a command that found nothing to act on.
let notFound = ExitCode(1)
/// The exit status of a store that failed.
let storeFailed = ExitCode(3)

/// Runs `body`, turning a store's failure into a message on standard error and exit status 3.
func withStore<Result>(_ body: () throws -> Result) throws -> Result {
    do {
        return try body()
    } catch let error as ExitCode {
        throw error
    } catch {
        printError("obsession: \(error)")
        throw storeFailed
    }
}

/// Writes `message` and a newline to standard error.
func printError(_ message: String) {
    let line = Array((message + "\n").utf8)
    _ = line.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
}
