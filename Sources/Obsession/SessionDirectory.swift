import Glibc

/// The walk over a file backend's directory tree that listing and garbage collection share.
///
/// Each leaf directory (the root without fan-out; else each of its 64 or 4,096 subdirectories)
/// is read in batches of its entries that belong to the store: session, lock and temporary files
/// of valid ids, recognised by their names' bytes without making strings. Each batch is handed
/// over sorted by inode number, so that work on the files goes through the inode table in order,
/// as `rm -rf` does, rather than at random. Calls on an entry other than `open` are relative to
/// its directory's descriptor, so no path is looked up again from the root.
struct SessionDirectory {
    /// What a file of the store is, by its name.
    enum Kind { case session, lock, temporary }

    /// One file of the store in a leaf directory.
    struct Entry {
        /// The name, NUL-terminated for the `*at` system calls.
        let name: [UInt8]
        let inode: UInt64
        let kind: Kind
    }

    /// A leaf directory being walked: its descriptor for the `*at` calls, and its path for `open`
    /// (variadic in C, so Swift cannot call `openat`).
    struct Leaf {
        let descriptor: Int32
        let path: String
    }

    let root: String
    let prefix: [UInt8]
    let fanOut: Int
    /// Entries sorted and handed over at a time: bounds memory on a directory of millions.
    static let batchSize = 16_384

    /// How many leaf directories the fan-out makes: 1, 64 or 4,096.
    var leafCount: Int { (0..<fanOut).reduce(1) { count, _ in count * SessionID.alphabet.count } }

    /// Leaf `index`'s path: the root, then a level a character of the id (`.` named `_`), as
    /// `FileBackend.path(of:)` places a session.
    func leafPath(_ index: Int) -> String {
        var path = root
        var divisor = leafCount
        for _ in 0..<fanOut {
            divisor /= SessionID.alphabet.count
            path += "/" + Self.levelName(SessionID.alphabet[index / divisor % SessionID.alphabet.count])
        }
        return path
    }

    /// The name of the fan-out level for an id's `character`: itself, but `_` for `.`.
    static func levelName(_ character: UInt8) -> String {
        character == UInt8(ascii: ".") ? "_" : String(UnicodeScalar(character))
    }

    /// Calls `body` with batches of each leaf directory's entries, leaf after leaf from leaf
    /// `start` round to the one before it, until it returns false. Returns where a later walk
    /// should start to go on: the leaf it stopped in, or `start` after a whole round.
    @discardableResult
    func forEachBatch(fromLeaf start: Int = 0, _ body: (Leaf, [Entry]) throws -> Bool) throws -> Int {
        try forEachBatch(inLeaves: (0..<leafCount).lazy.map { (start + $0) % leafCount }, body) ?? start
    }

    /// Calls `body` with batches of the entries of the leaf directories `leaves`, in their order,
    /// until it returns false; returns the leaf it stopped in, nil if it never did. A missing leaf
    /// (or root) holds nothing.
    func forEachBatch(inLeaves leaves: some Sequence<Int>, _ body: (Leaf, [Entry]) throws -> Bool) throws -> Int? {
        for index in leaves {
            let path = leafPath(index)
            let descriptor = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            guard descriptor >= 0 else {
                if errno == ENOENT { continue }
                throw SessionError.backendFailed("cannot list \(path): \(errnoDescription())")
            }
            if try !walk(descriptor, path: path, body) { return index }
        }
        return nil
    }

    /// Reads the leaf directory open at `descriptor` (and closes it); false if `body` was.
    private func walk(_ descriptor: Int32, path: String, _ body: (Leaf, [Entry]) throws -> Bool) throws -> Bool {
        guard let stream = fdopendir(descriptor) else {
            close(descriptor)
            throw SessionError.backendFailed("cannot list \(path): \(errnoDescription())")
        }
        defer { closedir(stream) }
        let leaf = Leaf(descriptor: dirfd(stream), path: path)
        var batch: [Entry] = []
        while let entry = readdir(stream) {
            // A record is only as long as its name needs, not `sizeof(struct dirent)`: read its
            // fields in place. A copy of `d_name`'s 256 bytes would read past the end of the last
            // record in readdir's buffer.
            let inode = UInt64(entry.pointer(to: \.d_ino)!.pointee)
            let start = UnsafeRawPointer(entry.pointer(to: \.d_name)!)
            let name = UnsafeRawBufferPointer(start: start, count: strlen(start.assumingMemoryBound(to: CChar.self)))
            if let kind = kind(of: name) { batch.append(Entry(name: Array(name) + [0], inode: inode, kind: kind)) }
            if batch.count < Self.batchSize { continue }
            defer { batch.removeAll(keepingCapacity: true) }
            if try !body(leaf, batch.sorted { $0.inode < $1.inode }) { return false }
        }
        return batch.isEmpty ? true : try body(leaf, batch.sorted { $0.inode < $1.inode })
    }

    /// The name of the session file `entry` belongs to (itself for a session), NUL-terminated.
    func sessionName(of entry: Entry) -> [UInt8] {
        entry.kind == .session ? entry.name : Array(entry.name[..<(prefix.count + SessionID.length)]) + [0]
    }

    /// The id in `entry`'s name.
    func id(of entry: Entry) -> SessionID? {
        SessionID(validating: String(decoding: entry.name[prefix.count..<(prefix.count + SessionID.length)], as: UTF8.self))
    }

    /// `prefix<id>`, `prefix<id>.lock` or `prefix<id>.tmp.<anything>`; nil for any other name.
    private func kind(of name: UnsafeRawBufferPointer) -> Kind? {
        let idEnd = prefix.count + SessionID.length
        guard name.count >= idEnd, name.starts(with: prefix),
              name[prefix.count..<idEnd].allSatisfy(SessionID.isIdByte) else { return nil }
        let rest = name[idEnd...]
        if rest.isEmpty { return .session }
        if rest.elementsEqual(".lock".utf8) { return .lock }
        if rest.starts(with: ".tmp.".utf8) { return .temporary }
        return nil
    }
}
