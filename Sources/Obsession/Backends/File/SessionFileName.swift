/// How messages name one of a session's files: by the session's tag and the store's directory,
/// never by the path, which holds the id, a credential that must not reach a log. Made on every
/// request, written out only when a message needs it.
///
/// ```swift
/// let name = SessionFileName(id: id, directory: "/var/lib/app/sessions")
/// print("cannot open \(name)")   // cannot open the file of session 3fa9c2e1 in /var/lib/app/sessions
/// ```
struct SessionFileName: CustomStringConvertible {
    /// Which of the session's files.
    enum Role { case record, temporary, lock }

    let id: SessionID
    let directory: String
    var role = Role.record

    /// The same session's temporary file (a larger record on its way in) or lock file.
    func with(_ role: Role) -> SessionFileName {
        SessionFileName(id: id, directory: directory, role: role)
    }

    var description: String {
        let file = "the file of session \(id.tag) in \(directory)"
        switch role {
        case .record: return file
        case .temporary: return "a temporary file for \(file)"
        case .lock: return "the lock of \(file)"
        }
    }
}
