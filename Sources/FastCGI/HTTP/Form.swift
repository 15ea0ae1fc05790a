import Glibc

/// The fields and files of a submitted form, from `request.form()`.
///
/// ```swift
/// let form = try request.form()
/// let user = form.fields["user"] ?? ""
/// if let avatar = form.file(named: "avatar") {
///     print(avatar.filename, avatar.size)
/// }
/// ```
public struct Form: Sendable {
    /// The text fields, in order.
    public var fields: FieldList
    /// The uploaded files, in order (multipart forms only).
    public var files: [UploadedFile]

    /// The first file uploaded under the form field `name`.
    ///
    /// ```swift
    /// let upload = try request.form().file(named: "document")
    /// ```
    public func file(named name: String) -> UploadedFile? {
        files.first { $0.fieldName == name }
    }
}

/// One file from a `multipart/form-data` body.
///
/// Small files stay in memory; larger ones are streamed to a temporary file (mode 0600) that
/// the server removes when the request ends. Copy or move it during the request to keep it.
///
/// ```swift
/// if let file = try request.form().file(named: "upload") {
///     let bytes = try file.contents()
///     print("\(file.filename): \(bytes.count) bytes of \(file.contentType)")
/// }
/// ```
public struct UploadedFile: Sendable {
    /// Where the file's bytes are.
    ///
    /// ```swift
    /// if case .temporaryFile(let path) = file.storage { print("streamed to \(path)") }
    /// ```
    public enum Storage: Sendable {
        /// Held in memory.
        case memory([UInt8])
        /// In a temporary file, removed when the request ends.
        case temporaryFile(path: String)
    }

    /// The name of the form field the file came in.
    public let fieldName: String
    /// The file name the browser sent, without any directory part.
    public let filename: String
    /// The part's `Content-Type`, `application/octet-stream` if it had none.
    public let contentType: String
    /// The file's length in bytes.
    public let size: Int
    /// Where the bytes are.
    public let storage: Storage

    /// The file's bytes, read from its temporary file if it has one.
    ///
    /// ```swift
    /// let bytes = try file.contents()
    /// ```
    public func contents() throws(RequestError) -> [UInt8] {
        switch storage {
        case .memory(let bytes):
            return bytes
        case .temporaryFile(let path):
            let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
            guard descriptor >= 0 else { throw .malformedBody("cannot read the upload \(path): \(errnoDescription(errno))") }
            defer { close(descriptor) }
            var bytes = [UInt8](repeating: 0, count: size)
            var offset = 0
            while offset < size {
                let count = bytes.withUnsafeMutableBytes { read(descriptor, $0.baseAddress! + offset, size - offset) }
                if count < 0, errno == EINTR { continue }
                guard count > 0 else { throw .malformedBody("the upload \(path) is shorter than it was") }
                offset += count
            }
            return bytes
        }
    }
}
