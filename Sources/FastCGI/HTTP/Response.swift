/// The answer to one request: status, headers, cookies and a body that streams.
///
/// Headers can change until the first body byte is written; they leave with it, or when the
/// handler returns. Header names and values are checked: CR, LF or NUL is refused, so user
/// input cannot split the response.
///
/// ```swift
/// try server.run { request, response in
///     response.status = 201
///     try response.setHeader("Content-Type", "application/json")
///     try response.setCookie(Cookie(name: "seen", value: "1"))
///     try response.write("{\"ok\":true}")
/// }
/// ```
public final class Response {
    // The variables marked `@exclusivity(unchecked)` skip Swift's run-time exclusivity check, which
    // cost 3–6 % of a request's instructions across these objects. Each is read or assigned
    // whole, or changed by a call whose closure does not touch this object, and no access to one
    // is held while other code runs (hooks run from a copy): keep it so when changing them.
    /// The status code, 200 unless changed. Changes after the headers left have no effect.
    @exclusivity(unchecked) public var status = 200
    /// The headers, in order; a name may repeat (`Set-Cookie`).
    @exclusivity(unchecked) public private(set) var headers = FieldList()
    /// Whether the headers have been sent; from then on only body can be written.
    @exclusivity(unchecked) public private(set) var headersSent = false
    /// Whether a write found the client gone.
    @exclusivity(unchecked) public private(set) var clientDisconnected = false
    private let transport: Transport
    @exclusivity(unchecked) private var beforeHeaders: [() throws -> Void] = []

    init(transport: Transport) {
        self.transport = transport
    }

    /// Sets a header, replacing any of the same name (case-insensitive).
    ///
    /// ```swift
    /// try response.setHeader("Cache-Control", "no-store")
    /// ```
    public func setHeader(_ name: String, _ value: String) throws(ResponseError) {
        try check(name, value)
        removeHeader(name)
        headers.append(name: name, value: value)
    }

    /// Adds a header, keeping any of the same name.
    ///
    /// ```swift
    /// try response.addHeader("Link", "</style.css>; rel=preload")
    /// ```
    public func addHeader(_ name: String, _ value: String) throws(ResponseError) {
        try check(name, value)
        headers.append(name: name, value: value)
    }

    /// Removes every header of this name (case-insensitive).
    ///
    /// ```swift
    /// response.removeHeader("Set-Cookie")
    /// ```
    public func removeHeader(_ name: String) {
        headers.fields.removeAll { HTTPSyntax.namesEqual($0.name, name) }
    }

    /// The first value of a header (case-insensitive), or nil.
    ///
    /// ```swift
    /// if response.header("Cache-Control") == nil { … }
    /// ```
    public func header(_ name: String) -> String? {
        headers.first { HTTPSyntax.namesEqual($0.name, name) }?.value
    }

    /// Says that the answer depends on the request header `name`: adds it to `Vary`, unless a
    /// `Vary` header already names it (in any case) or `*`. Shared caches then keep one answer
    /// per value of that header.
    ///
    /// ```swift
    /// try response.vary(by: "Cookie")
    /// ```
    public func vary(by name: String) throws(ResponseError) {
        let named = headers.contains { header in
            HTTPSyntax.namesEqual(header.name, "Vary") && header.value.split(separator: ",").contains { listed in
                let listed = listed.trimmingCharacters()
                return listed == "*" || HTTPSyntax.namesEqual(listed, name)
            }
        }
        if !named { try addHeader("Vary", name) }
    }

    /// Adds a `Set-Cookie` header for `cookie`, after checking it (see ``Cookie``).
    ///
    /// ```swift
    /// try response.setCookie(Cookie(name: "lang", value: "en", maxAge: 3600))
    /// ```
    public func setCookie(_ cookie: Cookie) throws(ResponseError) {
        try addHeader("Set-Cookie", try cookie.headerValue())
    }

    /// Answers with a redirect to `location`: 303 See Other unless another status is given.
    ///
    /// ```swift
    /// try response.redirect(to: "/")                 // after a POST
    /// try response.redirect(to: "/new", status: 301)
    /// ```
    public func redirect(to location: String, status: Int = 303) throws(ResponseError) {
        try setHeader("Location", location)
        self.status = status
    }

    /// Runs `hook` just before the headers leave, so a middleware can still add headers or
    /// cookies that depend on what the handler did. A hook that throws fails the request.
    ///
    /// ```swift
    /// response.beforeHeaders { try response.setHeader("X-Elapsed", "\(elapsed())") }
    /// ```
    public func beforeHeaders(_ hook: @escaping () throws -> Void) {
        beforeHeaders.append(hook)
    }

    /// Writes text to the body, sending the headers first if they have not left.
    ///
    /// Throws ``ResponseError/clientDisconnected`` when the client went away.
    ///
    /// ```swift
    /// try response.write("hello\n")
    /// ```
    public func write(_ text: String) throws {
        try text.withUTF8Bytes { try write(UnsafeRawBufferPointer($0)) }
    }

    /// Writes bytes to the body, sending the headers first if they have not left.
    ///
    /// ```swift
    /// try response.write([0x89, 0x50, 0x4E, 0x47])
    /// ```
    public func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }

    /// Writes raw bytes to the body, sending the headers first if they have not left.
    ///
    /// ```swift
    /// try data.withUnsafeBytes { try response.write($0) }
    /// ```
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        if !headersSent { try sendHeaders(along: bytes) } else { try send(bytes) }
    }

    /// Sends what is written so far to the client now.
    ///
    /// ```swift
    /// try response.write("working…\n"); try response.flush()
    /// ```
    public func flush() throws {
        if !headersSent { try sendHeaders(along: UnsafeRawBufferPointer(start: nil, count: 0)) }
        guard transport.flush() else { throw disconnected() }
    }

    /// Ends the response: sends the headers if the handler wrote no body.
    func finish() throws {
        if !headersSent { try sendHeaders(along: UnsafeRawBufferPointer(start: nil, count: 0)) }
    }

    /// Replaces an unsent response with a plain error page for `status`, with `Retry-After`
    /// when `retryAfter` gives one.
    func replaceWithError(status: Int, retryAfter: Int? = nil) {
        guard !headersSent else { return }
        self.status = status
        headers = ["Content-Type": "text/plain; charset=utf-8"]
        if let retryAfter { headers.append(name: "Retry-After", value: String(retryAfter)) }
        beforeHeaders = []
        try? write(HTTPSyntax.reasonPhrase(status) + "\n")
    }

    private func sendHeaders(along body: UnsafeRawBufferPointer) throws {
        let hooks = beforeHeaders
        beforeHeaders = []
        for hook in hooks { try hook() }
        headersSent = true
        let statusLine = HTTPSyntax.statusLine(status)
        let hasContentType = headers.contains { HTTPSyntax.namesEqual($0.name, "Content-Type") }
        var size = statusLine.count + 2 + body.count + (hasContentType ? 0 : Self.defaultContentType.count)
        for header in headers { size += header.name.utf8.count + header.value.utf8.count + 4 }
        // Headers and the first body bytes leave in one write (one record, or one CGI write).
        try withUnsafeTemporaryAllocation(byteCount: size, alignment: 1) { memory in
            var block = ByteBlock(memory: memory)
            statusLine.withUnsafeBytes { block.append($0) }
            for header in headers {
                block.append(header.name)
                block.append(": ")
                block.append(header.value)
                block.append("\r\n")
            }
            if !hasContentType { Self.defaultContentType.withUnsafeBytes { block.append($0) } }
            block.append("\r\n")
            block.append(body)
            try send(block.filled)
        }
    }

    private static let defaultContentType = Array("Content-Type: text/plain; charset=utf-8\r\n".utf8)

    private func send(_ bytes: UnsafeRawBufferPointer) throws {
        guard !clientDisconnected, transport.write(bytes) else { throw disconnected() }
    }

    private func disconnected() -> ResponseError {
        clientDisconnected = true
        return .clientDisconnected
    }

    private func check(_ name: String, _ value: String) throws(ResponseError) {
        guard !headersSent else { throw .headersAlreadySent }
        guard !name.isEmpty, name.withUTF8Bytes({ $0.allSatisfy(HTTPSyntax.isTokenByte) }) else {
            throw .invalidHeader("the name \(String(reflecting: name)) is not an HTTP token")
        }
        guard HTTPSyntax.isSafeHeaderValue(value) else {
            throw .invalidHeader("the value of \(name) holds CR, LF or NUL")
        }
    }
}
