import Glibc

/// The status page, as PHP-FPM's `pm.status_path`: the server answers `path` itself, to the
/// addresses `allowed` (else 403), in plain text, as JSON (`?json`) or in OpenMetrics
/// (`?openmetrics`, for Prometheus), and hands every other request to the application.
///
/// ```
/// $ curl http://127.0.0.1/status
/// processes: 2
/// workers: 8
/// busy workers: 1
/// …
/// ```
struct StatusPage<Application: Responder>: Responder {
    let application: Application
    let path: String
    let allowed: AddressRanges
    let board: Scoreboard
    let workersPerProcess: Int
    let listenDescriptor: Int32

    func respond(to request: Request, with response: Response) throws {
        guard request.path == path else { return try application.respond(to: request, with: response) }
        guard allowed.contains(request.remoteAddress ?? "") else {
            response.status = 403
            try response.setHeader("Content-Type", "text/plain; charset=utf-8")
            return try response.write("403 Forbidden: the status page is not open to \(request.remoteAddress ?? "this client")\n")
        }
        let fields = self.fields()
        try response.setHeader("Cache-Control", "no-store")
        switch request.queryString {
        case "json":
            try response.setHeader("Content-Type", "application/json")
            try response.write(Self.json(fields))
        case "openmetrics":
            try response.setHeader("Content-Type", "application/openmetrics-text; version=1.0.0; charset=utf-8")
            try response.write(Self.openMetrics(fields))
        default:
            try response.setHeader("Content-Type", "text/plain; charset=utf-8")
            try response.write(fields.map { "\($0.name.replacingUnderscores): \($0.value.text)\n" }.joined())
        }
    }

    func idle() { application.idle() }
    func status() -> [StatusField] { application.status() }

    /// The server's fields, then the application's.
    private func fields() -> [StatusField] {
        let counts = board.snapshot()
        let workers = counts.processes * workersPerProcess
        var fields = [
            StatusField(name: "start_time", value: .number(counts.started), help: "When the server started, in seconds since 1970."),
            StatusField(name: "processes", value: .number(counts.processes), help: "Worker processes running."),
            StatusField(name: "workers", value: .number(workers), help: "Worker threads, in all processes."),
            StatusField(name: "busy_workers", value: .number(counts.busy), help: "Workers answering a request now."),
            StatusField(name: "idle_workers", value: .number(max(0, workers - counts.busy)), help: "Workers waiting for a request."),
            StatusField(name: "requests", value: .number(counts.served), help: "Requests answered since the server started."),
            StatusField(name: "restarts", value: .number(counts.restarts), help: "Worker processes restarted after a crash."),
        ]
        if let queue = WorkerStatus.listenQueue(listenDescriptor) {
            fields.append(StatusField(name: "listen_queue", value: .number(queue.waiting), help: "Connections waiting to be accepted."))
            fields.append(StatusField(name: "listen_queue_length", value: .number(queue.limit), help: "The most connections that may wait."))
        }
        return fields + application.status()
    }

    static func json(_ fields: [StatusField]) -> String {
        let members = fields.map { field in
            switch field.value {
            case .number(let number): "\"\(field.name)\":\(number)"
            case .text(let text): "\"\(field.name)\":\"\(text.jsonEscaped)\""
            }
        }
        return "{" + members.joined(separator: ",") + "}\n"
    }

    /// Numbers as gauges (`requests` and `restarts` as counters), words as info metrics, each
    /// named `obsession_…` and described; `# EOF` ends it, as the format wants.
    static func openMetrics(_ fields: [StatusField]) -> String {
        var text = ""
        for field in fields {
            let name = "obsession_" + field.name
            switch field.value {
            case .number(let number) where ["requests", "restarts"].contains(field.name):
                text += "# TYPE \(name) counter\n# HELP \(name) \(field.help)\n\(name)_total \(number)\n"
            case .number(let number):
                text += "# TYPE \(name) gauge\n# HELP \(name) \(field.help)\n\(name) \(number)\n"
            case .text(let word):
                text += "# TYPE \(name) info\n# HELP \(name) \(field.help)\n\(name)_info{\(field.name)=\"\(word.jsonEscaped)\"} 1\n"
            }
        }
        return text + "# EOF\n"
    }
}

extension StatusField.Value {
    /// The value as the plain-text page writes it.
    var text: String {
        switch self {
        case .number(let number): String(number)
        case .text(let text): text
        }
    }
}

extension String {
    /// With `_` as spaces: a field's name as the plain-text page writes it.
    fileprivate var replacingUnderscores: String { String(map { $0 == "_" ? " " : $0 }) }

    /// Quotes, backslashes and control characters escaped, for a JSON string or an
    /// OpenMetrics label value.
    fileprivate var jsonEscaped: String {
        var escaped = ""
        for scalar in unicodeScalars {
            switch scalar {
            case "\"": escaped += "\\\""
            case "\\": escaped += "\\\\"
            case "\n": escaped += "\\n"
            case _ where scalar.value < 0x20: escaped += "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count) + String(scalar.value, radix: 16)
            default: escaped.unicodeScalars.append(scalar)
            }
        }
        return escaped
    }
}
