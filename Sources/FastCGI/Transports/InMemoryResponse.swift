/// A response produced in memory by ``FastCGIServer/respond(to:body:configuration:with:)``.
///
/// ```swift
/// let response = FastCGIServer.respond(to: ["REQUEST_METHOD": "GET", "PATH_INFO": "/"], with: app)
/// #expect(response.status == 200)
/// #expect(response.text == "hello\n")
/// ```
public struct InMemoryResponse: Sendable {
    /// The status code.
    public let status: Int
    /// The headers, in order.
    public let headers: FieldList
    /// The body.
    public let body: [UInt8]
    /// The lines written to the error log for this request.
    public let errorLog: [String]

    /// The first value of a header, by name in any case.
    ///
    /// ```swift
    /// let cookie = response.header("Set-Cookie")
    /// ```
    public func header(_ name: String) -> String? {
        headers.first { HTTPSyntax.namesEqual($0.name, name) }?.value
    }

    /// The body as UTF-8 text.
    public var text: String { String(decoding: body, as: UTF8.self) }

    /// Reads the CGI response the responder wrote: `Status:` line, headers, blank line, body.
    init(output: [UInt8], errorLog: [String]) {
        var status = 200
        var headers = FieldList()
        var bodyStart = output.count
        var lineStart = 0
        var index = 0
        while index + 1 < output.count {
            if output[index] == 13, output[index + 1] == 10 {
                let line = String(decoding: output[lineStart..<index], as: UTF8.self)
                if line.isEmpty {
                    bodyStart = index + 2
                    break
                }
                if let colon = line.firstIndex(of: ":") {
                    let name = String(line[..<colon])
                    let value = line[line.index(after: colon)...].trimmingCharacters()
                    if name == "Status" {
                        status = Int(value.prefix { $0 != " " }) ?? status
                    } else {
                        headers.append(name: name, value: value)
                    }
                }
                index += 2
                lineStart = index
            } else {
                index += 1
            }
        }
        self.status = status
        self.headers = headers
        self.body = Array(output[bodyStart...])
        self.errorLog = errorLog
    }
}

extension FastCGIServer {
    /// Runs `responder` on one request held in memory, through the same request cycle the
    /// server uses (body limits, error pages, logging), and returns what it answered. For tests
    /// of handlers and middleware without a web server.
    ///
    /// ```swift
    /// let response = FastCGIServer.respond(
    ///     to: ["REQUEST_METHOD": "POST", "CONTENT_TYPE": "application/x-www-form-urlencoded",
    ///          "CONTENT_LENGTH": "5", "PATH_INFO": "/login"],
    ///     body: Array("user=".utf8), with: app)
    /// ```
    public static func respond(to parameters: CGIParameters, body: [UInt8] = [],
                               configuration: Configuration = Configuration(), with responder: some Responder) -> InMemoryResponse {
        let transport = BufferTransport(body: body)
        RequestCycle(transport: transport, parameters: parameters, configuration: configuration, isCGI: false).run(responder)
        return InMemoryResponse(output: transport.output, errorLog: transport.errors)
    }
}
