/// The whole of a script: serves every request with `handler`, which gets the request's
/// session beside the request and the response. FastCGI under `--listen` or a FastCGI web
/// server, one classic CGI request otherwise, as `FastCGIServer.main` decides; the options
/// are ``SessionMiddleware``'s. Never returns.
///
/// A script with a session is then about as short as its PHP twin:
///
/// ```swift
/// #!/usr/bin/env -S obsession script
/// import Obsession
///
/// serve { request, response, session in
///     let visits = (session["visits"]?.intValue ?? 0) + 1
///     session["visits"] = .int(visits)
///     try response.write("visit \(visits)\n")
/// }
/// ```
public func serve(idPersister: CookieIdPersistence = CookieIdPersistence(), backend: any SessionBackend = FileBackend(),
                  idleTimeout: Int? = nil, absoluteTimeout: Int? = nil,
                  _ handler: @escaping @Sendable (Request, Response, Session) throws -> Void) -> Never {
    FastCGIServer.main { _ in
        SessionMiddleware(idPersister: idPersister, backend: backend, idleTimeout: idleTimeout,
                          absoluteTimeout: absoluteTimeout) { request, response in
            try handler(request, response, try request.session())
        }
    }
}
