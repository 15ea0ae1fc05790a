import Obsession
import TestSupport
import Testing

/// The README's snippets, compiled here so that they stay true; the behaviour they show is
/// tested through `hello` in the integration tests.
@Suite struct ReadmeSnippetTests {
    static func mainSnippet() {
        FastCGIServer.main { _ in
            ClosureResponder { request, response in
                let name = request.query["name"] ?? "world"
                let theme = request.cookies["theme"] ?? "light"
                try response.setHeader("Content-Type", "text/plain; charset=utf-8")
                try response.setCookie(Cookie(name: "theme", value: theme, maxAge: 86400))
                try response.write("hello \(name), \(request.method) \(request.path)\n")
            }
        }
    }

    static func upload(request: Request, response: Response) throws {
        let form = try request.form()
        guard let file = form.file(named: "document") else { return try response.redirect(to: "/") }
        try response.write("\(form.fields["title"] ?? ""): \(file.filename), \(file.size) bytes\n")
    }

    static func configurationSnippet() throws {
        var configuration = FastCGIServer.Configuration(listen: .unix(path: "/run/app/app.sock", mode: 0o660), workers: 8)
        configuration.maxBodySize = 1 << 20
        configuration.trustForwardedProto = false
        try FastCGIServer(configuration: configuration).run(upload)
    }

    struct Cart: Codable { var items: [String] }

    static func application(request: Request, response: Response) throws {
        let someId = SessionID.random()
        let session = try request.session()
        session["foo"] = "bar"
        session["bar"] = [1, 2, 3]
        session["bar"]?.append(4)
        try session.set(Cart(items: ["tea"]), forKey: "cart")
        let cart = try session.get(Cart.self, forKey: "cart")
        try session.save()
        _ = session.id
        try session.cycle()
        try session.load(id: someId)
        try session.delete()
        session.flash("Saved.")
        _ = session.isValidCSRFToken(try request.form().fields["csrf"])
        _ = cart
    }

    static func sessionSnippets() {
        FastCGIServer.main { _ in SessionMiddleware(application) }
    }

    static func everyOption() -> some Responder {
        SessionMiddleware(application,
            idPersister: CookieIdPersistence(cookieName: "mysession", maxAge: 86400, path: "/my-site",
                                             domain: "mysite.example.org", secure: true),
            backend: FileBackend(directory: "/tmp/session-store", prefix: "session_"),
            idleTimeout: 3600, absoluteTimeout: 86400)
    }

    static func storesSnippet() {
        let memory = MemoryBackend(size: 1000)
        let files = FileBackend(directory: "/var/lib/app/sessions",
                                locking: .exclusive(timeout: 5),
                                durability: .fsync,
                                fanOut: 2)
        _ = (memory, files)
    }

    @Test func configurationSnippetBuildsWhatItSays() {
        let configuration = FastCGIServer.Configuration(listen: .unix(path: "/run/app/app.sock", mode: 0o660), workers: 8)
        #expect(configuration.listen == .unix(path: "/run/app/app.sock", mode: 0o660))
        #expect(configuration.workers == 8)
    }
}
