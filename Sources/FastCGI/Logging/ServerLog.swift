public import Logging

/// The logger of the server's own life (start, stop, workers, housekeeping): the program's
/// ``FastCGIServer/Configuration/logger`` once the server runs, else lines to stderr named after
/// the program.
enum ServerLog {
    /// The program's logger, once the server runs with one.
    private static let configured = Locked<Logger?>(nil)
    /// The default, made on first use: a classic CGI process that logs nothing never makes it.
    private static let standard = Logger(label: programName, factory: LineLogHandler.standardError)

    /// The program's name, as it was started: what its log lines begin with.
    static let programName = CommandLine.arguments.first.map { String($0.split(separator: "/").last ?? "") } ?? "server"

    /// Logs through `logger` from now on; nil keeps the default.
    static func use(_ logger: Logger?) {
        if let logger { configured.withLock { $0 = logger } }
    }

    /// The logger now.
    static var logger: Logger { configured.withLock { $0 } ?? standard }
}

/// Writes one line about the server's life (start, stop, housekeeping) to the server's log.
///
/// ```swift
/// logLine("session garbage collection removed 12 files")
/// logLine("cannot reach the cache", level: .warning)
/// ```
public func logLine(_ message: String, level: Logger.Level = .info) {
    ServerLog.logger.log(level: level, "\(message)")
}
