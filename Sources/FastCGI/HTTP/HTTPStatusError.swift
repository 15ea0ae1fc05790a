/// An error that carries the HTTP status its request should be answered with.
///
/// When a handler throws one before the response's headers left, the client gets this status
/// and its standard reason phrase as the body; any other error gives 500. Make your own errors
/// conform to answer with their status:
///
/// ```swift
/// struct NotFound: HTTPStatusError { var status: Int { 404 } }
///
/// try server.run { request, response in
///     guard request.path == "/" else { throw NotFound() }
///     try response.write("home\n")
/// }
/// ```
public protocol HTTPStatusError: Error {
    /// The status to answer with: 4xx or 5xx.
    var status: Int { get }
    /// Seconds after which the client may try again, sent as `Retry-After` (with a 503 for a
    /// store that is down, say); nil sends none.
    var retryAfter: Int? { get }
}

extension HTTPStatusError {
    /// None: no `Retry-After`.
    public var retryAfter: Int? { nil }
}

/// What was wrong with a request's body.
///
/// ```swift
/// do { _ = try request.body() } catch let error as RequestError where error.status == 413 { … }
/// ```
public enum RequestError: HTTPStatusError, Equatable, CustomStringConvertible {
    /// The body is longer than the server's ``FastCGIServer/Configuration/maxBodySize``.
    case bodyTooLarge(limit: Int)
    /// The form has more fields (or multipart parts) than the server's
    /// ``FastCGIServer/Configuration/maxFormFields``.
    case tooManyFields(limit: Int)
    /// The body did not arrive whole within the server's ``FastCGIServer/Configuration/requestTimeout``.
    case timedOut(seconds: Int)
    /// The body could not be read or parsed; the string says why.
    case malformedBody(String)

    public var status: Int {
        switch self {
        case .bodyTooLarge, .tooManyFields: 413
        case .timedOut: 408
        case .malformedBody: 400
        }
    }

    public var description: String {
        switch self {
        case .bodyTooLarge(let limit): "the request body is larger than the limit of \(limit) bytes"
        case .tooManyFields(let limit): "the form has more than \(limit) fields"
        case .timedOut(let seconds): "the request took longer than the request timeout of \(seconds) s"
        case .malformedBody(let reason): "malformed request body: \(reason)"
        }
    }
}

/// Why a response could not be written as asked.
///
/// ```swift
/// do { try response.setHeader("X-Note", userInput) } catch ResponseError.invalidHeader { … }
/// ```
public enum ResponseError: Error, Equatable, CustomStringConvertible {
    /// A header name is not an HTTP token, or a name or value holds CR, LF or NUL.
    case invalidHeader(String)
    /// A cookie breaks RFC 6265's grammar or a prefix rule; the string says which.
    case invalidCookie(String)
    /// The headers were already sent with the first body byte.
    case headersAlreadySent
    /// The client went away; nothing more can reach it.
    case clientDisconnected

    public var description: String {
        switch self {
        case .invalidHeader(let reason): "invalid response header: \(reason)"
        case .invalidCookie(let reason): "invalid cookie: \(reason)"
        case .headersAlreadySent: "the response headers were already sent"
        case .clientDisconnected: "the client disconnected"
        }
    }
}
