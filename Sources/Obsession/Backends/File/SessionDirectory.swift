import Glibc

/// The walk over a file store's directory tree that listing and garbage collection share.
///
/// Each leaf directory (the root without fan-out; else each of its 64 or 4,096 subdirectories)
/// is read in batches of its entries that belong to the store: session, lock and temporary files
/// of valid ids, recognised by their names' bytes without making strings. Each batch is handed
/// over sorted by inode number, so that work on the files goes through the inode table in order,
/// as `rm -rf` does, rather than at random. Every call on an entry is relative to its
/// directory's descriptor, so no path is looked up again from the root.
struct SessionDirectory {
    /// One file of the store in a leaf directory.
    struct Entry {
        /// The name, NUL-terminated for the `*at` system calls.
        let name: [UInt8]
        let inode: UInt64
        let kind: FileLayout.Kind
    }

    /// A leaf directory being walked: its descriptor for the `*at` calls, and its path.
    struct Leaf {
        let descriptor: Int32
        let path: String
    }

    let layout: FileLayout
    /// Entries sorted and handed over at a time: bounds memory on a directory of millions.
    static let batchSize = 16_384
    /// Calls `body` with batches of each leaf directory's entries, leaf after leaf from leaf
    /// `start` round to the one before it, until it returns false. Returns where a later walk
    /// should start to go on: the leaf it stopped in, or `start` after a whole round.
    @discardableResult
    func forEachBatch(fromLeaf start: Int = 0, _ body: (Leaf, [Entry]) throws -> Bool) throws -> Int {
        try forEachBatch(inLeaves: (0..<layout.leafCount).lazy.map { (start + $0) % layout.leafCount }, body) ?? start
    }

    /// Calls `body` with batches of the entries of the leaf directories `leaves`, in their order,
    /// until it returns false; returns the leaf it stopped in, nil if it never did. A missing leaf
    /// (or root) holds nothing.
    func forEachBatch(inLeaves leaves: some Sequence<Int>, _ body: (Leaf, [Entry]) throws -> Bool) throws -> Int? {
        for index in leaves {
            let path = layout.leafPath(index)
            let descriptor = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            guard descriptor >= 0 else {
                if errno == ENOENT { continue }
                throw SessionError.backendFailed("cannot list \(path): \(Errno.current)", errno: errno)
            }
            if try !walk(descriptor, path: path, body) { return index }
        }
        return nil
    }

    /// Reads the leaf directory open at `descriptor` (and closes it); false if `body` was.
    private func walk(_ descriptor: Int32, path: String, _ body: (Leaf, [Entry]) throws -> Bool) throws -> Bool {
        guard let stream = fdopendir(descriptor) else {
            close(descriptor)
            throw SessionError.backendFailed("cannot list \(path): \(Errno.current)", errno: errno)
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
            if let kind = layout.kind(of: UnsafeRawBufferPointer(name)) { batch.append(Entry(name: Array(name) + [0], inode: inode, kind: kind)) }
            if batch.count < Self.batchSize { continue }
            defer { batch.removeAll(keepingCapacity: true) }
            if try !body(leaf, batch.sorted { $0.inode < $1.inode }) { return false }
        }
        return batch.isEmpty ? true : try body(leaf, batch.sorted { $0.inode < $1.inode })
    }
}
