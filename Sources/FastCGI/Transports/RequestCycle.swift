/// One request from start to end, the same for FastCGI and CGI: build the request and response,
/// refuse an oversized body, run the responder, turn its error into a status and a log line,
/// finish the response, drop the unread body and the upload files.
struct RequestCycle {
    let transport: Transport
    let request: Request
    let response: Response

    init(transport: Transport, parameters: CGIParameters, configuration: FastCGIServer.Configuration, isCGI: Bool) {
        self.transport = transport
        self.request = Request(parameters: parameters, transport: transport, configuration: configuration, isCGI: isCGI)
        self.response = Response(transport: transport)
    }

    func run(_ responder: some Responder) {
        defer { request.finish() }
        if request.isDeclaredTooLarge {
            response.replaceWithError(status: 413)
            return
        }
        do {
            try responder.respond(to: request, with: response)
            try response.finish()
        } catch {
            fail(error)
        }
    }

    private func fail(_ error: any Error) {
        if response.clientDisconnected {
            // Not to the web server's log: the connection that would carry the line is the one
            // that failed, and a write to it could wait out the write timeout once more.
            logLine("\(request.method) \(request.requestURI): the web server went away or took nothing for the write "
                    + "timeout, before the response was complete")
            return
        }
        request.log("\(error)")
        guard !response.headersSent else { return }
        let statusError = error as? any HTTPStatusError
        let status = statusError?.status ?? 500
        response.replaceWithError(status: (400...599).contains(status) ? status : 500, retryAfter: statusError?.retryAfter)
    }
}
