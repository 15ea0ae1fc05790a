#!/usr/bin/env -S obsession script
// form.swift: a note kept in the session, changed only by a form that carries the session's
// CSRF token.
import Obsession

serve { request, response, session in
    if request.method == "POST" {
        let form = try request.form()
        guard session.isValidCSRFToken(form.fields["csrf"]) else {
            response.status = 403
            return try response.write("the form's token is not this session's\n")
        }
        session["note"] = .string(form.fields["note"] ?? "")
        return try response.redirect(to: request.path)
    }
    try response.setHeader("Content-Type", "text/html; charset=utf-8")
    try response.write("""
        <p>Note: <b id=note>\(escapeHTML(session["note"]?.stringValue ?? ""))</b></p>
        <form method=post><input type=hidden name=csrf value="\(session.csrfToken)">
        <input name=note><button>Save</button></form>

        """)
}
