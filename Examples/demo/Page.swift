import Obsession

/// The demo's pages share one frame: a title, a little CSS (no JavaScript), the header with who
/// is logged in, and the flash messages waiting in the session.
struct Page {
    var title: String
    var body = ""

    /// Writes the page, its frame around `body`, with the session's flashes taken and shown.
    func write(to response: Response, session: Session) throws {
        var html = """
            <!doctype html>
            <html lang=en><head><meta charset=utf-8><meta name=viewport content="width=device-width, initial-scale=1">
            <title>\(escapeHTML(title)) · Obsession demo</title>
            <style>\(Self.style)</style></head><body>
            <header><a href="/" class=brand>Obsession</a><nav>
            """
        if let user = session.user {
            html += "<a href=\"/sessions\">Active sessions</a><span class=who>Logged in as <b id=user>\(escapeHTML(user))</b></span>"
            html += "<form method=post action=\"/logout\"><input type=hidden name=csrf value=\"\(escapeHTML(session.csrfToken))\">"
            html += "<button class=link>Log out</button></form>"
        } else {
            html += "<span class=who>Not logged in</span>"
        }
        html += "</nav></header>\n<main>\n"
        for message in session.takeFlashes() { html += "<p class=flash>\(escapeHTML(message))</p>\n" }
        html += "<h1>\(escapeHTML(title))</h1>\n" + body + "</main>\n</body></html>\n"
        try response.setHeader("Content-Type", "text/html; charset=utf-8")
        try response.write(html)
    }

    static let style = """
        body{font:16px/1.5 system-ui,sans-serif;margin:0;background:#f6f7f9;color:#1d2330}
        header{display:flex;justify-content:space-between;align-items:center;padding:.8em 1.5em;background:#1d2330;color:#fff}
        header a{color:#fff;text-decoration:none;margin-right:1em}.brand{font-weight:700}
        nav{display:flex;align-items:center;gap:.5em}nav form{display:inline;margin:0}.who{margin-right:1em}
        main{max-width:46em;margin:2em auto;padding:0 1.5em}
        .card{background:#fff;border-radius:8px;padding:1.2em 1.5em;box-shadow:0 1px 3px #0002;margin-bottom:1.2em}
        .flash{background:#e5f6ea;border-left:4px solid #2e9d51;padding:.6em 1em;border-radius:4px}
        .count{font-size:2.4em;font-weight:700;margin:0}
        input[type=text]{padding:.45em;border:1px solid #bbb;border-radius:4px;font:inherit}
        button{padding:.45em 1em;border:0;border-radius:4px;background:#3457d5;color:#fff;font:inherit;cursor:pointer}
        button.link{background:none;color:#fff;text-decoration:underline;padding:0}
        button.danger{background:#c23b3b}
        table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.5em;border-bottom:1px solid #e3e5ea}
        th,button{white-space:nowrap}
        .current{background:#eef2ff}.tag{font-family:monospace;color:#667}
        """
}

/// A time as the sessions page says it: how long ago, from `now`.
func ago(_ time: Int, now: Int) -> String {
    let seconds = max(0, now - time)
    switch seconds {
    case ..<60: return "just now"
    case ..<3600: return "\(seconds / 60) min ago"
    case ..<86400: return "\(seconds / 3600) h ago"
    default: return "\(seconds / 86400) days ago"
    }
}
