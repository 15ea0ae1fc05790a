// migration: the pages of Examples/migration moved to Swift, on the PHP site's own sessions.
//
//     migration --listen unix:/run/site/swift.sock --php-sessions /var/lib/php/sessions
//               [--php-sid-length 26] [--php-sid-bits 5] [--php-serialize-handler php]
//
//     GET  /account           who is logged in (PHP's login.php logs in), the cart, the visits
//     POST /cart?item=NAME    adds NAME to the cart PHP's cart.php shows; answers the cart
import Obsession
import ObsessionPHP

/// An answer with a status and no more to say.
struct Status: HTTPStatusError {
    let status: Int
}

func account(_ request: Request, _ response: Response) throws {
    let session = try request.session()
    guard let user = session["user"]?.stringValue else {
        response.status = 403
        try response.write("not logged in: log in at /login.php\n")
        return
    }
    let visits = (session["visits"]?.intValue ?? 0) + 1
    session["visits"] = .int(visits)
    let cart = session["cart"]?.arrayValue?.compactMap(\.stringValue) ?? []
    try response.write("account of \(user)\ncart: \(cart.joined(separator: ","))\nvisits: \(visits)\n")
}

func addToCart(_ request: Request, _ response: Response) throws {
    guard let item = request.query["item"], !item.isEmpty, item.count <= 100 else { throw Status(status: 400) }
    let session = try request.session()
    guard session["user"] != nil else { throw Status(status: 403) }
    session["cart"] = .array((session["cart"]?.arrayValue ?? []) + [.string(item)])
    try response.write((session["cart"]?.arrayValue ?? []).compactMap(\.stringValue).joined(separator: ",") + "\n")
}

FastCGIServer.main(programFlags: ["--php-sessions", "--php-sid-length", "--php-sid-bits", "--php-serialize-handler"]) { options in
    let format = PHPSessionFormat(rawValue: try options.choice("--php-serialize-handler", of: ["php", "php_serialize"]))!
    let idFormat = SessionIDFormat.php(length: try options.number("--php-sid-length", in: 22...256) ?? 26,
                                       bitsPerCharacter: try options.number("--php-sid-bits", in: 4...6) ?? 5)
    let backend: PHPFileBackend
    do {
        backend = try PHPFileBackend(savePath: options.value(of: "--php-sessions") ?? "/var/lib/php/sessions", format: format,
                                     idFormat: idFormat)
    } catch {
        throw ServerError(.invalidArgument, "\(error)")
    }
    // PHP's cookie: PHPSESSID, neither Secure nor HttpOnly unless php.ini says so.
    let cookie = CookieIdPersistence(cookieName: "PHPSESSID", secure: false, httpOnly: false)
    return SessionMiddleware(idPersister: cookie, backend: backend, idleTimeout: 1440) { request, response in
        switch (request.method, request.path) {
        case ("GET", "/account"): try account(request, response)
        case ("POST", "/cart"): try addToCart(request, response)
        default: throw Status(status: 404)
        }
    }
}
