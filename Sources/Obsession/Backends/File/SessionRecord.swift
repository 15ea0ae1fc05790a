/// The bytes of a session file: a header that makes a torn or foreign file detectable, then the
/// data.
///
///     offset  0  "OBS1"
///             4  data length, UInt32 little-endian
///             8  created at, Int64 little-endian (seconds since 1970)
///            16  FNV-1a 64 of bytes 4..<16 and of the data, UInt64 little-endian
///            24  data
///
/// A file whose magic, length or checksum does not match is not a session: a write cut short
/// by a crash reads as missing, never as garbage. Bytes after the record are ignored: the file
/// is rewritten in place and truncated afterwards, and a crash between the two leaves the old
/// record's tail behind a whole new record.
enum SessionRecord {
    static let headerSize = 24
    private static let magic: [UInt8] = Array("OBS1".utf8)

    static func encode(data: [UInt8], createdAt: Int) -> [UInt8] {
        var record: [UInt8] = []
        record.reserveCapacity(headerSize + data.count)
        record += magic
        appendLittleEndian(UInt64(UInt32(data.count)), bytes: 4, to: &record)
        appendLittleEndian(UInt64(bitPattern: Int64(createdAt)), bytes: 8, to: &record)
        var hash = FNV1a()
        hash.add(record[4..<16])
        hash.add(data)
        appendLittleEndian(hash.value, bytes: 8, to: &record)
        record += data
        return record
    }

    /// What a record holds: the session's data, when it began, and the record's checksum, which
    /// names this version of the data (its revision).
    struct Contents {
        let data: [UInt8]
        let createdAt: Int
        let checksum: UInt64
    }

    /// The checksum of a record `encode` made.
    static func checksum(of record: [UInt8]) -> UInt64 {
        record.withUnsafeBytes { readLittleEndian($0, at: 16, bytes: 8) }
    }

    /// What `record` holds, or nil if it does not begin with a whole, intact record.
    static func decode(_ record: UnsafeRawBufferPointer) -> Contents? {
        guard record.count >= headerSize, record[0..<4].elementsEqual(magic) else { return nil }
        let length = Int(readLittleEndian(record, at: 4, bytes: 4))
        guard record.count >= headerSize + length else { return nil }
        let data = UnsafeRawBufferPointer(rebasing: record[headerSize..<(headerSize + length)])
        var hash = FNV1a()
        hash.add(record[4..<16])
        hash.add(data)
        guard hash.value == readLittleEndian(record, at: 16, bytes: 8) else { return nil }
        return Contents(data: Array(data), createdAt: Int(Int64(bitPattern: readLittleEndian(record, at: 8, bytes: 8))),
                        checksum: hash.value)
    }

    /// What a whole file's bytes hold, or nil (see above).
    static func decode(_ record: [UInt8]) -> Contents? {
        record.withUnsafeBytes { decode($0) }
    }

    private static func appendLittleEndian(_ value: UInt64, bytes count: Int, to output: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { output.append(contentsOf: $0.prefix(count)) }
    }

    private static func readLittleEndian(_ bytes: UnsafeRawBufferPointer, at offset: Int, bytes count: Int) -> UInt64 {
        count == 8 ? UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
            : UInt64(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
    }
}
