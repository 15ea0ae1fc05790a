public import Logging
import Glibc

/// One HTTP request as the web server passed it: its CGI parameters, cookies, query and body.
///
/// A request belongs to the worker thread that serves it; read it there.
///
/// ```swift
/// try FastCGIServer().run { request, response in
///     let name = request.query["name"] ?? "world"
///     let visits = request.cookies["visits"].flatMap(Int.init) ?? 0
///     try response.write("\(request.method) \(request.path): hello \(name), visit \(visits + 1)\n")
/// }
/// ```
public final class Request {
    /// The CGI parameters (RFC 3875) the web server sent: `REQUEST_METHOD`, `HTTP_COOKIE`, …
    public let parameters: CGIParameters
    /// Whether `X-Forwarded-Proto: https` counts as HTTPS (set when a trusted proxy sits in front).
    private let trustsForwardedProto: Bool
    private let reader: BodyReader
    private let transport: Transport
    private let uploadMemoryLimit: Int
    private let uploadDirectory: String
    private let maxFormFields: Int
    private let configuredLogger: Logger?
    // The variables marked `@exclusivity(unchecked)` skip Swift's run-time exclusivity check, which
    // cost 3–6 % of a request's instructions across these objects. Each is read or assigned
    // whole, or changed by a call whose closure does not touch this object, and no access to one
    // is held while other code runs: keep it so when changing them.
    @exclusivity(unchecked) private var cachedForm: Form?
    @exclusivity(unchecked) private var bodyWasRead = false
    /// Values middleware attached, by key type (see ``RequestAttachmentKey``): a handful at
    /// most, found faster by a scan than by hashing.
    @exclusivity(unchecked) @usableFromInline var attachments: [(key: ObjectIdentifier, value: Any)] = []
    /// Temporary files of uploads, removed when the request ends.
    @exclusivity(unchecked) private(set) var temporaryFiles: [String] = []

    init(parameters: CGIParameters, transport: Transport, configuration: FastCGIServer.Configuration, isCGI: Bool) {
        self.parameters = parameters
        self.trustsForwardedProto = configuration.trustForwardedProto
        self.uploadMemoryLimit = configuration.uploadMemoryLimit
        self.uploadDirectory = configuration.temporaryDirectory
        self.maxFormFields = configuration.maxFormFields
        self.configuredLogger = configuration.logger
        self.transport = transport
        // Without CONTENT_LENGTH a CGI body is empty (RFC 3875 §4.1.2); FastCGI marks the end itself.
        let length = parameters["CONTENT_LENGTH"].flatMap { Int($0) }.map { max($0, 0) } ?? (isCGI ? 0 : nil)
        self.reader = BodyReader(transport: transport, contentLength: length, limit: configuration.maxBodySize,
                                 timeout: configuration.requestTimeout)
    }

    /// The HTTP method, `GET` if the web server did not say.
    ///
    /// ```swift
    /// guard request.method == "POST" else { … }
    /// ```
    public var method: String { parameters["REQUEST_METHOD"] ?? "GET" }

    /// `SCRIPT_NAME`: where the application is mounted, empty at the site's root.
    public var scriptName: String { parameters["SCRIPT_NAME"] ?? "" }

    /// `PATH_INFO`: the path below the mount point.
    public var pathInfo: String { parameters["PATH_INFO"] ?? "" }

    /// `REQUEST_URI`: the path and query as the client sent them, undecoded.
    public var requestURI: String { parameters["REQUEST_URI"] ?? "" }

    /// `QUERY_STRING`, undecoded.
    public var queryString: String { parameters["QUERY_STRING"] ?? "" }

    /// The path of the request: `SCRIPT_NAME` + `PATH_INFO` when the web server gives either,
    /// else `REQUEST_URI` up to its `?`.
    ///
    /// ```swift
    /// switch request.path { case "/": … case "/login": … default: … }
    /// ```
    public var path: String {
        let scriptName = self.scriptName
        let joined = scriptName.isEmpty ? pathInfo : scriptName + pathInfo
        if !joined.isEmpty { return joined }
        let uri = requestURI
        return String(uri.prefix { $0 != "?" })
    }

    /// The query items, decoded, in order.
    ///
    /// ```swift
    /// let page = request.query["page"].flatMap(Int.init) ?? 1
    /// ```
    public private(set) lazy var query: FieldList = parameters.withValueBytes(of: "QUERY_STRING") { bytes in
        // Parsed from the parameter's bytes in place: no string first, and a scan of contiguous
        // bytes rather than of a string's UTF-8 view.
        bytes.map(URLEncoding.parse) ?? FieldList()
    }

    /// The cookies the client sent, in order, as RFC 6265 reads them. A name may repeat: its
    /// subscript gives the first, which browsers send for the most specific path.
    ///
    /// ```swift
    /// let id = request.cookies["_obs"]
    /// ```
    public private(set) lazy var cookies: FieldList = CookieHeader.parse(parameters["HTTP_COOKIE"] ?? "")

    /// The request's headers, as the web server passed them (`HTTP_*`, `CONTENT_TYPE`,
    /// `CONTENT_LENGTH`), named as HTTP writes them (`User-Agent`).
    ///
    /// ```swift
    /// for header in request.headers { print("\(header.name): \(header.value)") }
    /// ```
    public private(set) lazy var headers: FieldList = {
        var headers = FieldList()
        for (name, value) in parameters {
            if name.hasPrefix("HTTP_") {
                headers.append(name: Self.headerName(fromParameter: name.dropFirst(5)), value: value)
            } else if name == "CONTENT_TYPE" || name == "CONTENT_LENGTH", !value.isEmpty {
                headers.append(name: Self.headerName(fromParameter: Substring(name)), value: value)
            }
        }
        return headers
    }()

    /// One header's value, by its HTTP name in any case.
    ///
    /// ```swift
    /// let agent = request.header("User-Agent") ?? "unknown"
    /// ```
    public func header(_ name: String) -> String? {
        let key = String(name.uppercased().map { $0 == "-" ? "_" : $0 })
        if key == "CONTENT_TYPE" || key == "CONTENT_LENGTH" { return parameters[key] }
        return parameters["HTTP_" + key]
    }

    /// The client's address (`REMOTE_ADDR`).
    public var remoteAddress: String? { parameters["REMOTE_ADDR"] }

    /// The client's port (`REMOTE_PORT`).
    public var remotePort: Int? { parameters["REMOTE_PORT"].flatMap { Int($0) } }

    /// Whether the request came over HTTPS: `HTTPS` is on, or `REQUEST_SCHEME` is `https`, or
    /// `X-Forwarded-Proto` is `https` and the server was told to trust it.
    ///
    /// ```swift
    /// let scheme = request.isSecure ? "https" : "http"
    /// ```
    public var isSecure: Bool {
        if let https = parameters["HTTPS"], !https.isEmpty, https.lowercased() != "off" { return true }
        if parameters["REQUEST_SCHEME"]?.lowercased() == "https" { return true }
        return trustsForwardedProto && parameters["HTTP_X_FORWARDED_PROTO"]?.lowercased() == "https"
    }

    /// `CONTENT_LENGTH`, if the request has one.
    public var contentLength: Int? { parameters["CONTENT_LENGTH"].flatMap { Int($0) } }

    /// `CONTENT_TYPE`, if the request has one.
    public var contentType: String? { parameters["CONTENT_TYPE"] }

    /// The whole body, read once, at most ``FastCGIServer/Configuration/maxBodySize`` bytes.
    ///
    /// Throws ``RequestError/bodyTooLarge(limit:)`` (answered with 413) when the body is
    /// longer; nothing past the limit is read into memory.
    ///
    /// ```swift
    /// let json = try request.body()
    /// ```
    public func body() throws(RequestError) -> [UInt8] {
        guard !bodyWasRead else { throw .malformedBody("the body was already read") }
        bodyWasRead = true
        return try reader.readAll()
    }

    /// The submitted form: `application/x-www-form-urlencoded` or `multipart/form-data`.
    ///
    /// File parts larger than ``FastCGIServer/Configuration/uploadMemoryLimit`` are streamed
    /// to temporary files that are removed when the request ends. Any other content type gives
    /// an empty form; a malformed body throws ``RequestError/malformedBody(_:)`` (400), and one
    /// of more than ``FastCGIServer/Configuration/maxFormFields`` fields or parts
    /// ``RequestError/tooManyFields(limit:)`` (413), before they are parsed.
    ///
    /// ```swift
    /// let form = try request.form()
    /// let user = form.fields["user"]
    /// ```
    public func form() throws(RequestError) -> Form {
        if let cachedForm { return cachedForm }
        let type = contentType ?? ""
        var form = Form(fields: FieldList(), files: [])
        if HeaderParameters(type).value.lowercased() == "application/x-www-form-urlencoded" {
            let body = try body()
            guard URLEncoding.fieldCount(body) <= maxFormFields else { throw .tooManyFields(limit: maxFormFields) }
            form.fields = URLEncoding.parse(body)
        } else if let boundary = MultipartParser.boundary(inContentType: type) {
            guard !bodyWasRead else { throw .malformedBody("the body was already read") }
            bodyWasRead = true
            var parser = MultipartParser(reader: reader, boundary: boundary, memoryLimit: uploadMemoryLimit,
                                         temporaryDirectory: uploadDirectory, maxParts: maxFormFields)
            defer { temporaryFiles += parser.temporaryFiles }
            form = try parser.parse()
        }
        cachedForm = form
        return form
    }

    /// Where this request logs: the server's configured ``FastCGIServer/Configuration/logger``
    /// with the request's method and URI as `request` metadata, or by default the web server's
    /// error log for this request (the FastCGI error stream; stderr in CGI mode), each line
    /// prefixed with the method and URI. Made when first used.
    ///
    /// ```swift
    /// request.logger.warning("payment provider slow", metadata: ["provider": "acme"])
    /// ```
    public private(set) lazy var logger: Logger = {
        let label = "\(method) \(requestURI)"
        if var configured = configuredLogger {
            configured[metadataKey: "request"] = .string(label)
            return configured
        }
        let stream = ErrorStream(transport)
        return Logger(label: label) { _ in LineLogHandler(prefix: { label }) { stream.transport.logError($0) } }
    }()

    /// The transport's error stream, for the request's logger. A logger must be Sendable; this
    /// one belongs to the request, which one worker thread serves, and is used there only.
    private final class ErrorStream: @unchecked Sendable {
        let transport: Transport
        init(_ transport: Transport) { self.transport = transport }
    }

    /// Writes a line about this request to its ``logger``, at `level` (an error by default).
    ///
    /// ```swift
    /// request.log("payment provider timed out; retrying")
    /// ```
    public func log(_ message: String, level: Logger.Level = .error) {
        logger.log(level: level, "\(message)")
    }

    /// Whether `CONTENT_LENGTH` announces a body over the limit.
    var isDeclaredTooLarge: Bool { reader.isDeclaredTooLarge }

    /// Reads and drops the unread rest of the body, and removes upload files.
    func finish() {
        reader.drain()
        guard !temporaryFiles.isEmpty else { return }
        for path in temporaryFiles { unlink(path) }
        temporaryFiles = []
    }

    /// `USER_AGENT` → `User-Agent`.
    private static func headerName(fromParameter name: Substring) -> String {
        name.split(separator: "_").map { $0.prefix(1) + $0.dropFirst().lowercased() }.joined(separator: "-")
    }
}
