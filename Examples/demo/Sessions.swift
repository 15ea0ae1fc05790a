import Obsession

/// `GET /sessions`: the logged-in user's sessions, this one first, each with where and when,
/// and buttons to log out one or all the others. A session is named by its tag, never its id:
/// an id is the key to a session, and the page must not hand them out.
func activeSessions(_ request: Request, _ response: Response) throws {
    let session = try request.session()
    guard session.user != nil else {
        session.flash("Log in to see your sessions.")
        return try response.redirect(to: "/")
    }
    let now = SystemClock().now
    let token = escapeHTML(session.csrfToken)
    // This browser's first, then the others, most recently seen first.
    let all = try session.userSessions()
    let sessions = all.filter { $0.id == session.id } + all.filter { $0.id != session.id }
    var page = Page(title: "Active sessions")
    page.body += "<section class=card><table id=sessions><tr><th>Browser</th><th>Address</th><th>Signed in</th><th>Last seen</th><th></th></tr>\n"
    for other in sessions {
        let browser = escapeHTML(other.details["browser"]?.stringValue ?? "unknown")
        let address = escapeHTML(other.details["address"]?.stringValue ?? "unknown")
        let current = other.id == session.id
        page.body += "<tr class=\"\(current ? "current" : "other")\"><td>\(browser)\(other.isRemembered ? " · remembered" : "")</td>"
        page.body += "<td>\(address)</td><td>\(other.loggedInAt.map { ago($0, now: now) } ?? "?")</td><td>\(ago(other.lastSeen, now: now))</td><td>"
        if current {
            page.body += "<b>this browser</b>"
        } else {
            page.body += "<form method=post action=\"/sessions/logout\"><input type=hidden name=csrf value=\"\(token)\">"
            page.body += "<input type=hidden name=id value=\"\(other.id.tag)\"><button class=danger>Log out this one</button></form>"
        }
        page.body += "</td></tr>\n"
    }
    page.body += "</table></section>\n"
    if sessions.count > 1 {
        page.body += "<form method=post action=\"/sessions/logout\"><input type=hidden name=csrf value=\"\(token)\">"
        page.body += "<input type=hidden name=all value=others><button class=danger id=logout-others>Log out everywhere else</button></form>\n"
    }
    try page.write(to: response, session: session)
}

/// `POST /sessions/logout`: ends the user's session whose tag is `id`, or with `all=others`
/// every one but this; only ever the user's own.
func logOutSessions(_ request: Request, _ response: Response) throws {
    let session = try request.session()
    let form = try request.form()
    guard session.isValidCSRFToken(form.fields["csrf"]), session.user != nil else { throw Status(status: 403) }
    if form.fields["all"] == "others" {
        let ended = try session.logOutOtherSessions()
        session.flash(ended == 1 ? "Logged out 1 other session." : "Logged out \(ended) other sessions.")
    } else if let tag = form.fields["id"], let other = try session.userSessions().first(where: { $0.id.tag == tag }),
              try session.logOutOtherSession(other.id) {
        session.flash("Logged out that session.")
    } else {
        throw Status(status: 404)
    }
    try response.redirect(to: "/sessions")
}
