// hello: answers every request with its method, path, query items and cookies, as plain text.
//
//     hello --listen unix:/tmp/hello.sock --workers 4   # a FastCGI server
//     hello                                             # fd 0 if it listens, else classic CGI
import FastCGI

func hello(request: Request, response: Response) throws {
    var text = "method: \(request.method)\npath: \(request.path)\n"
    for item in request.query { text += "query: \(item.name)=\(item.value)\n" }
    for cookie in request.cookies { text += "cookie: \(cookie.name)=\(cookie.value)\n" }
    if request.method == "POST" {
        let form = try request.form()
        for field in form.fields { text += "field: \(field.name)=\(field.value)\n" }
        for file in form.files {
            let sum = try file.contents().reduce(0) { ($0 &* 31) &+ Int($1) }
            text += "file: \(file.fieldName) \(file.filename) \(file.contentType) \(file.size) bytes, sum \(sum)\n"
        }
    }
    try response.setHeader("Content-Type", "text/plain; charset=utf-8")
    try response.write(text)
}

FastCGIServer.main { _ in ClosureResponder(hello) }
