import Glibc
import LibFuzzer
@testable import Obsession
import ObsessionPHP
import ObsessionPerl

/// Hostile input through the paths a request takes, under libFuzzer: a crash, a trap (an index
/// out of range, an overflow) or an AddressSanitizer report is a finding. The first byte picks
/// what the rest is:
/// - 0–3: a POST request, NUL-separated into query string, cookie header, body and (3) content
///   type; bodies are read as forms, and query items become session values, cookies and headers.
///   The first byte's upper bits (`byte / 8`, 0–31) cut the body short of its Content-Length at
///   that many 32nds of it (0: whole). File parts of more than 16 bytes go to temporary files,
///   which must all be gone, and every descriptor closed, when the request ends;
/// - 4–5: the data of an intact record in the client's session file (the JSON decoder's input),
///   changed and saved back by the request;
/// - 6: the bytes of a session file (the record reader's input);
/// - 7: PHP's serialized format and session handlers, and CGI::Session's Data::Dumper records
///   (the PHP and Perl readers' input): what reads must write back to itself.
@main
struct Fuzz {
    static let id = SessionID(validating: "FuzzFuzzFuzzFuzzFuzzFuzzFuzzFuzzFuzzFuzz")!
    static let memory = MemoryBackend(size: 100)
    /// The session file of ``id``.
    static var sessionFile: String { "\(directory)/sessions/s_\(id.text)" }
    /// Where the file backend keeps its sessions: `FUZZ_SCRATCH`, which `make fuzz` empties.
    static let directory: String = {
        guard let path = getenv("FUZZ_SCRATCH") else { fatalError("set FUZZ_SCRATCH to a scratch directory (make fuzz does)") }
        return String(cString: path)
    }()
    static let files = FileBackend(directory: directory + "/sessions", prefix: "s_")
    /// Where uploads go: empty again after every request.
    static let uploads: String = {
        let path = directory + "/uploads"
        mkdir(path, 0o700)
        return path
    }()
    /// The server's configuration for requests: a small in-memory limit, so uploads cross it.
    static let configuration: FastCGIServer.Configuration = {
        var configuration = FastCGIServer.Configuration()
        configuration.uploadMemoryLimit = 16
        configuration.temporaryDirectory = uploads
        return configuration
    }()

    /// Hands libFuzzer's driver the command line (its flags) and ``run(_:)``.
    static func main() {
        // The kernel's random source stays open for the process once an id is made: open it
        // now, so that the first request's open is not taken for a leak.
        _ = SessionID.random()
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        _ = LLVMFuzzerRunDriver(&argc, &argv) { data, size in
            Fuzz.run(Array(UnsafeBufferPointer(start: data, count: size)))
            return 0
        }
    }

    /// One input: its first byte says which of the three it is.
    static func run(_ input: [UInt8]) {
        guard let kind = input.first else { return }
        let rest = Array(input.dropFirst())
        switch kind % 8 {
        case 0...3: request(kind: Int(kind % 4), cut: Int(kind / 8), rest)
        case 4, 5: storedSession(change: true, file: SessionRecord.encode(data: rest, createdAt: SystemClock().now))
        case 6: storedSession(change: false, file: rest)
        default: phpSession(rest)
        }
    }

    /// `bytes` as a PHP value and as a session in both handlers' formats. What reads must
    /// write out to bytes that read back the same; a session's entries must be written back
    /// byte for byte.
    static func phpSession(_ bytes: [UInt8]) {
        if let value = try? PHPValue(serialized: bytes) {
            let again = try? PHPValue(serialized: value.serialized)
            precondition(again.map { $0.serialized == value.serialized } == true, "a PHP value did not read back")
            if let session = value.sessionValue { _ = PHPValue(session).serialized }
        }
        for format in PHPSessionFormat.allCases {
            guard let entries = try? format.decode(bytes), let written = try? format.encode(entries) else { continue }
            precondition((try? format.decode(written)) == entries, "a PHP session did not read back")
        }
        if let entries = try? PerlDumper.entries(of: bytes) {
            precondition((try? PerlDumper.entries(of: PerlDumper.record(of: entries))) == entries, "a Perl record did not read back")
        }
    }

    /// A POST request of content type `kind` (see ``Fuzz``) made of `bytes`, its body cut at
    /// `cut` 32nds, through a handler that reads all of it and writes what the query asks into
    /// the session and the response. Traps if the request left an upload file or a descriptor.
    static func request(kind: Int, cut: Int, _ bytes: [UInt8]) {
        let parts = bytes.split(separator: 0, maxSplits: 3, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
        let part = { (index: Int) in index < parts.count ? parts[index] : "" }
        let contentType = ["application/x-www-form-urlencoded", "multipart/form-data; boundary=XyZ",
                           "multipart/form-data; boundary=\"a b\"", part(3)][kind]
        let whole = Array(part(2).utf8)
        let body = cut == 0 ? whole : Array(whole.prefix(whole.count * cut / 32))
        let nextDescriptor = lowestFreeDescriptor()
        defer {
            precondition(lowestFreeDescriptor() == nextDescriptor, "the request left a descriptor open")
            precondition(isEmpty(uploads), "the request left an upload file behind")
        }
        let parameters = CGIParameters([
            "REQUEST_METHOD": "POST", "CONTENT_TYPE": contentType, "CONTENT_LENGTH": String(whole.count),
            "QUERY_STRING": part(0), "REQUEST_URI": "/fuzz?" + part(0), "HTTP_COOKIE": part(1),
            "HTTP_X_FORWARDED_PROTO": "https",
        ])
        _ = FastCGIServer.respond(to: parameters, body: body, configuration: configuration,
                                  with: SessionMiddleware(backend: memory) { request, response in
            _ = (request.method, request.path, request.isSecure, request.remotePort, request.contentLength)
            for _ in request.query {}
            for _ in request.cookies {}
            for _ in request.headers {}
            if let form = try? request.form() {
                for _ in form.fields {}
                for file in form.files { _ = try? file.contents() }
            }
            let session = try request.session()
            if let value = request.query["v"] { session["v"] = .string(value) }
            if let name = request.query["c"] {
                _ = try? response.setCookie(Cookie(name: name, value: request.query["cv"] ?? "", path: request.query["p"]))
            }
            if let name = request.query["h"] { _ = try? response.setHeader(name, request.query["hv"] ?? "") }
            try response.write(session.value.description)
        })
    }

    /// A request whose cookie names `id`, whose session file holds `file`; with `change`, it
    /// changes the session, so that what was read is written back. Every session file is
    /// removed after: an unreadable one is replaced by a new session, which would stay.
    static func storedSession(change: Bool, file bytes: [UInt8]) {
        mkdir(directory + "/sessions", 0o700)
        let file = open(sessionFile, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        _ = bytes.withUnsafeBytes { write(file, $0.baseAddress, $0.count) }
        close(file)
        defer { try? files.forEachSession { try? files.delete($0); return true } }
        _ = FastCGIServer.respond(to: ["REQUEST_METHOD": "GET", "HTTP_COOKIE": "_obs=\(id.text)"],
                                  with: SessionMiddleware(backend: files) { request, response in
            let session = try request.session()
            if change { session["seen"] = .bool(true) }
            try response.write(session.value.description)
        })
    }

    /// The descriptor the next `open` would get: it grows if a request leaves one open.
    static func lowestFreeDescriptor() -> Int32 {
        let descriptor = open("/dev/null", O_RDONLY | O_CLOEXEC)
        close(descriptor)
        return descriptor
    }

    /// Whether the directory `path` holds nothing.
    static func isEmpty(_ path: String) -> Bool {
        guard let stream = opendir(path) else { return false }
        defer { closedir(stream) }
        var entries = 0
        while readdir(stream) != nil { entries += 1 }
        return entries == 2
    }
}
