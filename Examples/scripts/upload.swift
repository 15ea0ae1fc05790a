#!/usr/bin/env -S obsession script
// upload.swift: a file upload, counted in the session. Files over 64 KiB go to a temporary
// file, removed when the request ends.
import Obsession

serve { request, response, session in
    if request.method == "POST" {
        let form = try request.form()
        guard session.isValidCSRFToken(form.fields["csrf"]), let file = form.file(named: "file") else {
            response.status = 400
            return try response.write("send a file, with this session's token\n")
        }
        let uploads = (session["uploads"]?.intValue ?? 0) + 1
        session["uploads"] = .int(uploads)
        return try response.write("\(file.filename): \(file.size) bytes; upload \(uploads) of this session\n")
    }
    try response.setHeader("Content-Type", "text/html; charset=utf-8")
    try response.write("""
        <form method=post enctype=multipart/form-data><input type=hidden name=csrf value="\(session.csrfToken)">
        <input type=file name=file><button>Send</button></form>

        """)
}
