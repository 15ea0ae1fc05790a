#!/usr/bin/env -S obsession script
// counter.swift: a visit counter in one file. Put it where the web server runs CGI scripts,
// make it executable, and ask for it; `obsession script` compiles it on its first request.
import Obsession

serve { request, response, session in
    let visits = (session["visits"]?.intValue ?? 0) + 1
    session["visits"] = .int(visits)
    try response.write("visits: \(visits)\n")
}
