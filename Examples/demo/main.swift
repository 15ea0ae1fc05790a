// demo: the session demo site that `make demo` serves.
//
//     demo --listen unix:/tmp/demo.sock [--sessions DIR] [--cookie-name NAME] [--cookie-secure on|off]
//          [--locking merge|exclusive] [--idle-timeout SECONDS] [--absolute-timeout SECONDS]
//          [--fan-out 0|1|2] [--durability page-cache|fsync]
//          [--redis URL] [--redis-sentinel HOST:PORT[,HOST:PORT…] --redis-master NAME] [--redis-replicas N]
//          [--php-sessions SAVE_PATH | --php-redis URL] [--php-serialize-handler php|php_serialize]
//          [--php-sid-length N] [--php-sid-bits 4|5|6]
//          [--perl-sessions DIR] [--perl-serializer default|json]
//          [--cycle-grace-period SECONDS] [--remembered-lifetime SECONDS]
//
// Sessions are files (in --sessions, default under TMPDIR), or with --redis or --redis-sentinel
// on Redis: --redis names the server (redis://user:password@host:port/db, unix:///path?db=N),
// or with sentinels only the login and database; with --php-sessions, PHP's own session files
// (session.save_path, with PHP's serialize handler and id settings: keep them as php.ini says, and
// --cookie-name PHPSESSID), or with --php-redis phpredis's sessions on that Redis (its lifetime
// the idle timeout, as session.gc_maxlifetime), shared with the PHP pages of a site moving to Swift;
// with --perl-sessions, CGI::Session's file driver's directory (--cookie-name CGISESSID).
//
//     GET  /              visit counter, the logged-in user, a login form (remember me), the flash
//     POST /login         form fields user, csrf, remember=on: logged in (new id), flash, 303 to /
//     POST /logout        form field csrf: session deleted, 303 to /
//     GET  /sessions      the user's active sessions: address, browser, last seen, log-out buttons
//     POST /sessions/logout  form fields csrf and id (a session's tag) or all=others: 303 to /sessions
//     GET  /session.json  the session's data as JSON (creates no session)
//     POST /incr?key=K    adds 1 to the integer session[K] and answers the new value
import Obsession
import ObsessionPHP
import ObsessionPerl
import ObsessionRedis

/// An answer with a status and no more to say.
struct Status: HTTPStatusError {
    let status: Int
}

func home(_ request: Request, _ response: Response) throws {
    let session = try request.session()
    let visits = (session["visits"]?.intValue ?? 0) + 1
    session["visits"] = .int(visits)
    let token = escapeHTML(session.csrfToken)
    var page = Page(title: session.user.map { "Welcome, \($0)" } ?? "Sessions, kept on the server")
    page.body += "<section class=card><p>Visits in this session</p><p class=count><b id=visits>\(visits)</b></p></section>\n"
    if session.user != nil {
        page.body += "<section class=card><p>This session is \(session.isRemembered ? "remembered: it stays logged in when the browser closes" : "kept until you close the browser")."
        page.body += " See <a href=\"/sessions\">where else you are signed in</a>.</p></section>\n"
    } else {
        page.body += """
            <section class=card><form method=post action="/login"><input type=hidden name=csrf value="\(token)">
            <p><label>Name <input type=text name=user placeholder=name required maxlength=100></label></p>
            <p><label><input type=checkbox name=remember value=on> Remember me</label></p>
            <p><button>Log in</button></p></form></section>

            """
    }
    try page.write(to: response, session: session)
}

func login(_ request: Request, _ response: Response) throws {
    let session = try request.session()
    let form = try request.form()
    guard session.isValidCSRFToken(form.fields["csrf"]) else { throw Status(status: 403) }
    let user = form.fields["user"] ?? ""
    guard !user.isEmpty, user.count <= 100 else { throw Status(status: 400) }
    let browser = String((request.header("User-Agent") ?? "unknown").prefix(200))
    try session.logIn(user: user, remember: form.fields["remember"] == "on",
                      details: ["address": .string(request.remoteAddress ?? "unknown"), "browser": .string(browser)])
    session.flash("Welcome, \(user).")
    try response.redirect(to: "/")
}

func logout(_ request: Request, _ response: Response) throws {
    let session = try request.session()
    guard session.isValidCSRFToken(try request.form().fields["csrf"]) else { throw Status(status: 403) }
    try session.delete()
    try response.redirect(to: "/")
}

func sessionJSON(_ request: Request, _ response: Response) throws {
    let session = try request.session()
    try response.setHeader("Content-Type", "application/json")
    try response.write(session.value.description + "\n")
}

func increment(_ request: Request, _ response: Response) throws {
    guard let key = request.query["key"], !key.isEmpty else { throw Status(status: 400) }
    let session = try request.session()
    let value = (session[key]?.intValue ?? 0) + 1
    session[key] = .int(value)
    try response.write("\(value)\n")
}

func route(_ request: Request, _ response: Response) throws {
    switch (request.method, request.path) {
    case ("GET", "/"), ("HEAD", "/"): try home(request, response)
    case ("POST", "/login"): try login(request, response)
    case ("POST", "/logout"): try logout(request, response)
    case ("GET", "/session.json"): try sessionJSON(request, response)
    case ("POST", "/incr"): try increment(request, response)
    case ("GET", "/sessions"), ("HEAD", "/sessions"): try activeSessions(request, response)
    case ("POST", "/sessions/logout"): try logOutSessions(request, response)
    case (_, "/"), (_, "/login"), (_, "/logout"), (_, "/session.json"), (_, "/incr"), (_, "/sessions"), (_, "/sessions/logout"):
        throw Status(status: 405)
    default: throw Status(status: 404)
    }
}

/// The store the flags name: CGI::Session's files with --perl-sessions, PHP's with --php-sessions or
/// --php-redis, Redis with --redis or --redis-sentinel, else our files.
func store(_ options: ServerOptions, idleTimeout: Int?, absoluteTimeout: Int?) throws -> any SessionBackend {
    let locking: SessionLocking = try options.choice("--locking", of: ["merge", "exclusive"]) == "merge"
        ? .merge : .exclusive(timeout: 10)
    if let directory = options.value(of: "--perl-sessions") {
        let serializer = PerlSerializer(rawValue: try options.choice("--perl-serializer", of: ["default", "json"]))!
        return PerlFileBackend(directory: directory, serializer: serializer)
    }
    let phpFiles = options.value(of: "--php-sessions"), phpRedis = options.value(of: "--php-redis")
    if phpFiles != nil || phpRedis != nil {
        let format = PHPSessionFormat(rawValue: try options.choice("--php-serialize-handler", of: ["php", "php_serialize"]))!
        let idFormat = SessionIDFormat.php(length: try options.number("--php-sid-length", in: 22...256) ?? 32,
                                           bitsPerCharacter: try options.number("--php-sid-bits", in: 4...6) ?? 4)
        do {
            if let phpRedis {
                return PHPRedisBackend(try RedisServer(url: phpRedis), format: format, idFormat: idFormat, lifetime: idleTimeout ?? 1440)
            }
            return try PHPFileBackend(savePath: phpFiles!, format: format, idFormat: idFormat)
        } catch let error as RedisURLError {
            throw ServerError(.invalidArgument, error.description)
        } catch let error as PHPFormatError {
            throw ServerError(.invalidArgument, error.description)
        }
    }
    let sentinels = options.value(of: "--redis-sentinel")
    guard options.value(of: "--redis") != nil || sentinels != nil else {
        let durability: FileBackend.Durability = try options.choice("--durability", of: ["page-cache", "fsync"]) == "fsync"
            ? .fsync : .pageCache
        return FileBackend(directory: options.value(of: "--sessions"), locking: locking, durability: durability,
                           fanOut: try options.number("--fan-out", in: 0...2) ?? 0)
    }
    do {
        let server = try RedisServer(url: options.value(of: "--redis") ?? "redis://127.0.0.1:6379/0")
        let sentinel = try sentinels.map { addresses throws(RedisURLError) in
            try RedisSentinel(addresses: addresses, master: options.value(of: "--redis-master") ?? "")
        }
        return RedisBackend(server, sentinel: sentinel, locking: locking,
                            replicas: try options.number("--redis-replicas", in: 0...16) ?? 0,
                            idleTimeout: idleTimeout ?? 1440, absoluteTimeout: absoluteTimeout)
    } catch let error as RedisURLError {
        throw ServerError(.invalidArgument, error.description)
    }
}

FastCGIServer.main(programFlags: ["--sessions", "--cookie-name", "--cookie-secure", "--locking", "--idle-timeout",
                                  "--absolute-timeout", "--fan-out", "--durability", "--redis", "--redis-sentinel",
                                  "--redis-master", "--redis-replicas", "--php-sessions", "--php-serialize-handler",
                                  "--php-sid-length", "--php-sid-bits", "--php-redis", "--perl-sessions",
                                  "--perl-serializer", "--cycle-grace-period", "--remembered-lifetime"]) { options in
    let secure = try options.choice("--cookie-secure", of: ["on", "off"]) == "on"
    let cookie = CookieIdPersistence(cookieName: options.value(of: "--cookie-name") ?? "_obs", secure: secure)
    let lifetime = 1...(10 * 365 * 86400)
    let idleTimeout = try options.number("--idle-timeout", in: lifetime, of: "seconds")
    let absoluteTimeout = try options.number("--absolute-timeout", in: lifetime, of: "seconds")
    return SessionMiddleware(ClosureResponder(route), idPersister: cookie,
                             backend: try store(options, idleTimeout: idleTimeout, absoluteTimeout: absoluteTimeout),
                             idleTimeout: idleTimeout, absoluteTimeout: absoluteTimeout,
                             cycleGracePeriod: try options.number("--cycle-grace-period", in: 0...3600, of: "seconds") ?? 30,
                             rememberedLifetime: try options.number("--remembered-lifetime", in: lifetime, of: "seconds") ?? 30 * 86400)
}
