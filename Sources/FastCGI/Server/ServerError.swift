/// Why the server could not start or stop as asked.
///
/// Every error says what was attempted and why it failed, in words an operator can act on:
///
/// ```swift
/// do {
///     try FastCGIServer(listen: .tcp(host: "127.0.0.1", port: 9000)).run { _, response in
///         try response.write("hello\n")
///     }
/// } catch {
///     print(error)  // "cannot bind 127.0.0.1:9000: address already in use"
/// }
/// ```
public struct ServerError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The kind of failure.
    ///
    /// ```swift
    /// catch let error as ServerError where error.code == .cannotListen { print("port taken?") }
    /// ```
    public enum Code: Sendable, Equatable {
        /// A `--listen` address or other option could not be understood.
        case invalidArgument
        /// The listening socket could not be made, bound or listened on.
        case cannotListen
        /// A worker thread, pipe or signal handler could not be set up.
        case cannotStart
        /// Requests were still running when the shutdown grace period ran out.
        case gracePeriodExpired
    }

    /// The kind of failure.
    public let code: Code
    /// A sentence that says what was attempted and why it failed.
    public let message: String
    /// The `errno` value behind the failure, when a system call failed.
    public let errno: Int32?

    /// Makes an error from its kind and message.
    ///
    /// ```swift
    /// let error = ServerError(.invalidArgument, "--workers wants a number from 1 to 1024")
    /// ```
    public init(_ code: Code, _ message: String, errno: Int32? = nil) {
        self.code = code
        self.message = message
        self.errno = errno
    }

    public var description: String { message }
}
