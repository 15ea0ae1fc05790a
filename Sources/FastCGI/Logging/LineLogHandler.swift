public import Logging
import Glibc

/// The library's own log handler: each message as one line, `prefix: message`, with any
/// metadata after it in brackets, handed to `write`. By default the server's lines go to stderr
/// prefixed with the program's name and process id (`demo[812]: listening on …`), and a
/// request's lines to the web server's error log prefixed with its method and URI
/// (`POST /login: …`), where an operator looks for them.
///
/// ```swift
/// var logger = Logger(label: "app") { _ in LineLogHandler(prefix: { "app" }, write: { print($0) }) }
/// logger.info("ready")   // app: ready
/// ```
public struct LineLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    private let prefix: @Sendable () -> String
    private let write: @Sendable (String) -> Void

    /// Writes lines `prefix(): message` through `write`; the prefix is asked for each line (a
    /// process id changes across a fork).
    ///
    /// ```swift
    /// let handler = LineLogHandler(prefix: { "worker" }, write: { print($0) })
    /// ```
    public init(prefix: @escaping @Sendable () -> String, write: @escaping @Sendable (String) -> Void) {
        self.prefix = prefix
        self.write = write
    }

    /// A handler writing to the process's stderr, each line prefixed with `label[pid]`.
    ///
    /// ```swift
    /// let logger = Logger(label: "demo", factory: LineLogHandler.standardError)
    /// ```
    @Sendable public static func standardError(label: String) -> LineLogHandler {
        LineLogHandler(prefix: { "\(label)[\(getpid())]" }) { line in
            var line = line + "\n"
            line.withUTF8 { _ = writeAll(STDERR_FILENO, UnsafeRawBufferPointer($0)) }
        }
    }

    public func log(event: LogEvent) {
        let merged = event.metadata.map { self.metadata.merging($0) { $1 } } ?? self.metadata
        let details = merged.isEmpty ? "" : " [" + merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ") + "]"
        write("\(prefix()): \(event.message)\(details)")
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }
}
