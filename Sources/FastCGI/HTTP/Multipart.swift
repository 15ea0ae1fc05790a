import Glibc

/// A streaming parser of `multipart/form-data` (RFC 7578) bodies.
///
/// It reads through a fixed window: text fields are kept in memory, and a file part that grows
/// past `memoryLimit` is moved to a temporary file as it arrives, so an upload never needs its
/// size in memory. Every temporary file made is recorded in `temporaryFiles` for removal.
struct MultipartParser {
    /// Most headers one part may have, in bytes.
    static let maxHeaderSize = 16384

    private let reader: BodyReader
    private let delimiter: [UInt8]
    private let memoryLimit: Int
    private let temporaryDirectory: String
    /// Most parts one body may have: more throw ``RequestError/tooManyFields(limit:)``.
    private let maxParts: Int
    private var buffer: [UInt8] = []
    private var scratch = [UInt8](repeating: 0, count: 16384)
    private var start = 0
    private var atEnd = false
    private(set) var temporaryFiles: [String] = []

    init(reader: BodyReader, boundary: String, memoryLimit: Int, temporaryDirectory: String, maxParts: Int) {
        self.reader = reader
        self.delimiter = Array("\r\n--\(boundary)".utf8)
        self.memoryLimit = memoryLimit
        self.temporaryDirectory = temporaryDirectory
        self.maxParts = maxParts
    }

    /// The boundary named in a `multipart/form-data` content type, or nil.
    static func boundary(inContentType contentType: String) -> String? {
        let parts = HeaderParameters(contentType)
        guard parts.value.lowercased() == "multipart/form-data",
              let boundary = parts["boundary"], (1...70).contains(boundary.utf8.count) else { return nil }
        return boundary
    }

    /// Reads the whole body and returns its fields and files.
    mutating func parse() throws(RequestError) -> Form {
        var form = Form(fields: FieldList(), files: [])
        // The first delimiter has no CRLF before it: pretend the body started with one.
        buffer = [13, 10]
        guard try skipPast(delimiter) else { throw .malformedBody("no multipart boundary found") }
        var parts = 0
        while true {
            guard try fill(2) else { throw .malformedBody("the body ends inside a boundary line") }
            if buffer[start] == UInt8(ascii: "-"), buffer[start + 1] == UInt8(ascii: "-") { return form }
            guard try skipPast([13, 10]) else { throw .malformedBody("a boundary line does not end") }
            parts += 1
            guard parts <= maxParts else { throw .tooManyFields(limit: maxParts) }
            let headers = try readHeaders()
            let disposition = HeaderParameters(headers["content-disposition"] ?? "")
            guard disposition.value.lowercased() == "form-data", let name = disposition["name"] else {
                throw .malformedBody("a part has no Content-Disposition: form-data with a name")
            }
            if let filename = disposition["filename"] {
                form.files.append(try readFile(fieldName: name, filename: filename,
                                               contentType: headers["content-type"] ?? "application/octet-stream"))
            } else {
                var value: [UInt8] = []
                try readPartBody { value.append(contentsOf: $0) }
                form.fields.append(name: name, value: String(decoding: value, as: UTF8.self))
            }
        }
    }

    /// Reads one part's headers, up to the empty line; names are lowercased.
    private mutating func readHeaders() throws(RequestError) -> [String: String] {
        var headers: [String: String] = [:]
        while true {
            guard let end = try find([13, 10], within: Self.maxHeaderSize) else {
                throw .malformedBody("a part's headers are missing or longer than \(Self.maxHeaderSize) bytes")
            }
            let line = buffer[start..<end]
            start = end + 2
            if line.isEmpty { return headers }
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { throw .malformedBody("a part header has no colon") }
            let name = String(decoding: line[..<colon], as: UTF8.self).lowercased()
            headers[name] = String(decoding: line[(colon + 1)...].trimmingSpaces(), as: UTF8.self)
        }
    }

    /// Reads a file part, moving it to a temporary file once it outgrows `memoryLimit`.
    private mutating func readFile(fieldName: String, filename: String, contentType: String) throws(RequestError) -> UploadedFile {
        var memory: [UInt8] = []
        var file: (descriptor: Int32, path: String)?
        var size = 0
        var failure: RequestError?
        let directory = temporaryDirectory
        let memoryLimit = memoryLimit
        var made: [String] = []
        // On every way out, a body cut short or a failed write included: the descriptor closed,
        // and the file listed for removal at the request's end.
        defer {
            temporaryFiles += made
            if let file { close(file.descriptor) }
        }
        try readPartBody { chunk in
            guard failure == nil else { return }
            size += chunk.count
            if file == nil, memory.count + chunk.count > memoryLimit {
                var template = Array("\(directory)/obsession-upload-XXXXXX".utf8CString)
                let descriptor = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
                guard descriptor >= 0 else {
                    failure = .malformedBody("cannot make a temporary file in \(directory): \(errnoDescription(errno))")
                    return
                }
                _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC)
                let path = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
                made.append(path)
                file = (descriptor, path)
                if !memory.withUnsafeBytes({ writeAll(descriptor, $0) }) {
                    failure = .malformedBody("cannot write the upload to \(path): \(errnoDescription(errno))")
                }
                memory = []
            }
            if let file {
                if !writeAll(file.descriptor, chunk) {
                    failure = .malformedBody("cannot write the upload to \(file.path): \(errnoDescription(errno))")
                }
            } else {
                memory.append(contentsOf: chunk)
            }
        }
        if let failure { throw failure }
        let storage: UploadedFile.Storage = file.map { .temporaryFile(path: $0.path) } ?? .memory(memory)
        return UploadedFile(fieldName: fieldName, filename: Self.baseName(filename), contentType: contentType,
                            size: size, storage: storage)
    }

    /// Hands the part's body to `sink` in chunks, up to the next delimiter, and steps past it.
    private mutating func readPartBody(_ sink: (UnsafeRawBufferPointer) -> Void) throws(RequestError) {
        while true {
            if let end = try find(delimiter, within: 65536) {
                buffer.withUnsafeBytes { sink(UnsafeRawBufferPointer(rebasing: $0[start..<end])) }
                start = end + delimiter.count
                return
            }
            // No delimiter in the window: all but its last delimiter-length bytes are body.
            let safe = buffer.count - (delimiter.count - 1)
            if safe > start {
                buffer.withUnsafeBytes { sink(UnsafeRawBufferPointer(rebasing: $0[start..<safe])) }
                start = safe
            }
            guard try readMore() else { throw .malformedBody("the body ends inside a part") }
        }
    }

    /// Moves past the next occurrence of `pattern`; false if the body ends first.
    private mutating func skipPast(_ pattern: [UInt8]) throws(RequestError) -> Bool {
        while true {
            if let index = try find(pattern, within: 65536) {
                start = index + pattern.count
                return true
            }
            start = max(start, buffer.count - (pattern.count - 1))
            guard try readMore() else { return false }
        }
    }

    /// The index of `pattern` in the unread window, reading while the window is shorter than
    /// `within`; nil if it is not in the first `within` bytes or the body ends.
    private mutating func find(_ pattern: [UInt8], within: Int) throws(RequestError) -> Int? {
        // Counted from `start`, which reading more may move.
        var scanned = 0
        while true {
            if let index = Self.index(of: pattern, in: buffer, from: start + scanned) { return index }
            scanned = max(0, buffer.count - start - (pattern.count - 1))
            guard buffer.count - start < within, try readMore() else { return nil }
        }
    }

    /// Reads until at least `count` unread bytes are buffered; false if the body ends first.
    private mutating func fill(_ count: Int) throws(RequestError) -> Bool {
        while buffer.count - start < count {
            guard try readMore() else { return false }
        }
        return true
    }

    /// Appends the next chunk of the body to the window, dropping what was consumed.
    private mutating func readMore() throws(RequestError) -> Bool {
        if atEnd { return false }
        if start > 0 {
            buffer.removeSubrange(..<start)
            start = 0
        }
        let count = try scratch.withUnsafeMutableBytes { bytes in
            Result { () throws(RequestError) in try reader.read(into: bytes) }
        }.get()
        buffer.append(contentsOf: scratch[..<count])
        if count == 0 { atEnd = true }
        return count > 0
    }

    private static func index(of pattern: [UInt8], in bytes: [UInt8], from: Int) -> Int? {
        guard let first = pattern.first, bytes.count - from >= pattern.count else { return nil }
        var index = from
        let last = bytes.count - pattern.count
        while index <= last {
            if bytes[index] == first, bytes[index..<(index + pattern.count)].elementsEqual(pattern) { return index }
            index += 1
        }
        return nil
    }

    /// The last path component of a file name as some browsers send it (`C:\dir\file.txt`).
    private static func baseName(_ filename: String) -> String {
        String(filename.split(whereSeparator: { $0 == "/" || $0 == "\\" }).last ?? "")
    }
}

/// A header value with parameters: `form-data; name="a"; filename="b.txt"`.
struct HeaderParameters {
    /// The part before the first `;`, trimmed.
    let value: String
    private var parameters: [(String, String)] = []

    init(_ header: String) {
        var rest = Substring(header)
        let head = rest.prefix { $0 != ";" }
        value = head.trimmingCharacters()
        rest = rest.dropFirst(head.count)
        while rest.first == ";" {
            rest = rest.dropFirst().drop { $0 == " " || $0 == "\t" }
            let name = rest.prefix { $0 != "=" && $0 != ";" }
            rest = rest.dropFirst(name.count)
            var parameter = ""
            if rest.first == "=" {
                rest = rest.dropFirst()
                if rest.first == "\"" {
                    rest = rest.dropFirst()
                    while let character = rest.first, character != "\"" {
                        rest = rest.dropFirst()
                        if character == "\\", let escaped = rest.first {
                            parameter.append(escaped)
                            rest = rest.dropFirst()
                        } else {
                            parameter.append(character)
                        }
                    }
                    rest = rest.dropFirst()
                    rest = rest.drop { $0 != ";" }
                } else {
                    let token = rest.prefix { $0 != ";" }
                    parameter = token.trimmingCharacters()
                    rest = rest.dropFirst(token.count)
                }
            }
            parameters.append((name.trimmingCharacters().lowercased(), parameter))
        }
    }

    /// The parameter's value, by lowercase name.
    subscript(name: String) -> String? {
        parameters.first { $0.0 == name }?.1
    }
}

extension StringProtocol {
    /// The text without leading and trailing spaces and tabs.
    func trimmingCharacters() -> String {
        String(decoding: Substring(self).utf8.trimmingSpaces(), as: UTF8.self)
    }
}
