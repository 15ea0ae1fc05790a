/// Where a file store keeps each session, the one place that says so:
/// `directory/[c1/[c2/]]prefix<id>`, the id's first `fanOut` characters naming the levels (`.`
/// named `_`), beside it `…<id>.lock` (an exclusive hold) and `…<id>.tmp.<random>` (a larger
/// record on its way in), and `directory/users/<hash>/<id>` the index of users' sessions.
/// Saving, holding, listing and collecting all place and read names here.
///
/// ```swift
/// let layout = FileLayout(directory: "/var/lib/app/sessions", prefix: "s_", fanOut: 2)
/// layout.path(of: id)   // /var/lib/app/sessions/A/b/s_Ab…
/// ```
struct FileLayout: Sendable {
    /// What a file of the store is, by its name.
    enum Kind { case session, lock, temporary }

    let directory: String
    let prefix: String
    /// Levels of subdirectories: 0, 1 or 2.
    let fanOut: Int
    private let prefixBytes: [UInt8]

    init(directory: String, prefix: String, fanOut: Int) {
        self.directory = directory
        self.prefix = prefix
        self.fanOut = fanOut
        prefixBytes = Array(prefix.utf8)
    }

    /// Session `id`'s file.
    func path(of id: SessionID) -> String {
        let capacity = directory.utf8.count + 2 * fanOut + 1 + prefixBytes.count + SessionID.length
        return ByteBlock.string(capacity: capacity) { path in
            path.append(directory)
            for character in id.text.utf8.prefix(fanOut) {
                path.append("/")
                path.append(Self.levelName(character))
            }
            path.append("/")
            path.append(prefix)
            path.append(id.text)
        }
    }

    /// The directory of the index of users' sessions: `directory/users`, a name no fan-out
    /// level (one character) or session file (the prefix and an id) can have.
    var userIndexDirectory: String { directory + "/users" }

    /// `user`'s index directory: `users/` and a 64-bit hash of the name, which any name fits;
    /// two users whose names share a hash share a directory, and the session layer tells their
    /// sessions apart by the user each stores.
    func userIndexPath(of user: String) -> String {
        var hash = FNV1a()
        hash.add(user.utf8)
        return userIndexDirectory + "/" + String(hash.value, radix: 16)
    }

    /// The file that holds session `id` for a request, beside its session file.
    func lockPath(of id: SessionID) -> String { path(of: id) + ".lock" }

    /// A new name for a record of session file `path` on its way in.
    static func temporaryPath(for path: String) -> String {
        "\(path).tmp.\(SessionID.random().text.prefix(12))"
    }

    /// The directories that hold session `id`'s file, outermost first: the store, then each
    /// level.
    func directories(of id: SessionID) -> [String] {
        var levels = [directory]
        for character in id.text.utf8.prefix(fanOut) {
            levels.append(levels[levels.count - 1] + "/" + Self.levelName(character))
        }
        return levels
    }

    /// How many leaf directories the fan-out makes: 1, 64 or 4,096.
    var leafCount: Int { (0..<fanOut).reduce(1) { count, _ in count * SessionIDFormat.obsession.alphabet.count } }

    /// Leaf `index`'s path, the leaves in the alphabet's order.
    func leafPath(_ index: Int) -> String {
        var path = directory
        var divisor = leafCount
        for _ in 0..<fanOut {
            divisor /= SessionIDFormat.obsession.alphabet.count
            path += "/" + Self.levelName(SessionIDFormat.obsession.alphabet[index / divisor % SessionIDFormat.obsession.alphabet.count])
        }
        return path
    }

    /// The name of the fan-out level for an id's `character`: itself, but `_` for `.`.
    static func levelName(_ character: UInt8) -> String {
        character == UInt8(ascii: ".") ? "_" : String(UnicodeScalar(character))
    }

    /// What the file named `name` is to the store: `prefix<id>`, `prefix<id>.lock` or
    /// `prefix<id>.tmp.<anything>`; nil for any other name. Read from the bytes, without a string.
    func kind(of name: UnsafeRawBufferPointer) -> Kind? {
        let idEnd = prefixBytes.count + SessionID.length
        guard name.count >= idEnd, name.starts(with: prefixBytes),
              name[prefixBytes.count..<idEnd].allSatisfy(SessionID.isIdByte) else { return nil }
        let rest = name[idEnd...]
        if rest.isEmpty { return .session }
        if rest.elementsEqual(".lock".utf8) { return .lock }
        if rest.starts(with: ".tmp.".utf8) { return .temporary }
        return nil
    }

    /// The name of the session file that a store file named `name` (of kind `kind`) belongs to,
    /// NUL-terminated: the name itself for a session file.
    func sessionName(of name: [UInt8], kind: Kind) -> [UInt8] {
        kind == .session ? name : Array(name[..<(prefixBytes.count + SessionID.length)]) + [0]
    }

    /// The id in a store file's name.
    func id(inName name: [UInt8]) -> SessionID? {
        SessionID(validating: String(decoding: name[prefixBytes.count..<(prefixBytes.count + SessionID.length)], as: UTF8.self))
    }
}
