/// A transport over memory: the body comes from an array, in reads of `chunkSize` bytes, and the
/// output and error lines are kept. It serves ``FastCGIServer/respond(to:body:configuration:with:)``
/// and the parsers' tests.
final class BufferTransport: Transport {
    private let input: [UInt8]
    private let chunkSize: Int
    private var offset = 0
    private(set) var output: [UInt8] = []
    private(set) var errors: [String] = []
    /// After this many output bytes, writes fail as if the client went away.
    var failWritesAfter = Int.max

    init(body: [UInt8] = [], chunkSize: Int = 65536) {
        input = body
        self.chunkSize = chunkSize
    }

    var text: String { String(decoding: output, as: UTF8.self) }

    func read(into buffer: UnsafeMutableRawBufferPointer, before deadline: Double) -> TransportRead {
        let count = min(buffer.count, chunkSize, input.count - offset)
        input[offset..<(offset + count)].withUnsafeBytes { buffer.copyMemory(from: $0) }
        offset += count
        return .bytes(count)
    }

    func write(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard output.count + bytes.count <= failWritesAfter else { return false }
        output += bytes
        return true
    }

    func flush() -> Bool { output.count <= failWritesAfter }

    func logError(_ line: String) { errors.append(line) }
}
