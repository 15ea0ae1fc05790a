/// Something that answers requests: a handler closure, or a middleware wrapping another
/// responder.
///
/// ```swift
/// struct Hello: Responder {
///     func respond(to request: Request, with response: Response) throws {
///         try response.write("hello\n")
///     }
/// }
/// try FastCGIServer().run(Hello())
/// ```
public protocol Responder: Sendable {
    /// Answers one request. A thrown error answers 500 (or the status of an
    /// ``HTTPStatusError``) if the headers have not left, and is logged.
    func respond(to request: Request, with response: Response) throws

    /// Called on a worker thread that has no request in hand: after each answer has gone, and
    /// each second it waits without a request. A place for bounded housekeeping, such as
    /// removing expired sessions; return at once when there is none to do, since it runs after
    /// every request. The default does nothing.
    func idle()

    /// What this responder adds to the server's status page (`--status-path`): a session
    /// store's kind and health, say. Called for each request of the page, so keep it cheap.
    /// The default adds nothing.
    func status() -> [StatusField]
}

extension Responder {
    /// Does nothing: most responders keep no house.
    ///
    /// ```swift
    /// struct Hello: Responder { func respond(to: Request, with: Response) throws {} }  // idle() is this one
    /// ```
    public func idle() {}

    /// Nothing: most responders have nothing to report.
    ///
    /// ```swift
    /// struct Hello: Responder { func respond(to: Request, with: Response) throws {} }  // status() is []
    /// ```
    public func status() -> [StatusField] { [] }
}

/// A closure as a ``Responder``.
///
/// ```swift
/// let hello = ClosureResponder { _, response in try response.write("hello\n") }
/// ```
public struct ClosureResponder: Responder {
    private let body: @Sendable (Request, Response) throws -> Void

    /// Wraps `body`.
    ///
    /// ```swift
    /// let responder = ClosureResponder { request, response in try response.write(request.path) }
    /// ```
    public init(_ body: @escaping @Sendable (Request, Response) throws -> Void) {
        self.body = body
    }

    public func respond(to request: Request, with response: Response) throws {
        try body(request, response)
    }
}
