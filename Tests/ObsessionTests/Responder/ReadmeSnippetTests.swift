import FastCGI
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

    @Test func configurationSnippetBuildsWhatItSays() {
        let configuration = FastCGIServer.Configuration(listen: .unix(path: "/run/app/app.sock", mode: 0o660), workers: 8)
        #expect(configuration.listen == .unix(path: "/run/app/app.sock", mode: 0o660))
        #expect(configuration.workers == 8)
    }
}
