/// Bytes appended into memory sized for them beforehand: how the response headers and a
/// session file's path are put together without growing a buffer or a string piece by piece.
///
/// ```swift
/// let path = ByteBlock.string(capacity: 64) { block in
///     block.append("/tmp/sessions/")
///     block.append(id.text)
/// }
/// ```
package struct ByteBlock {
    @usableFromInline let memory: UnsafeMutableRawBufferPointer
    /// How many bytes are filled, from the start.
    @usableFromInline package var count = 0

    @inlinable
    package init(memory: UnsafeMutableRawBufferPointer) {
        self.memory = memory
    }

    /// The bytes appended so far.
    @inlinable
    package var filled: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: memory[0..<count]) }

    /// Appends `bytes`; they must fit.
    @inlinable
    package mutating func append(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        precondition(count + bytes.count <= memory.count, "ByteBlock overflow")
        (memory.baseAddress! + count).copyMemory(from: base, byteCount: bytes.count)
        count += bytes.count
    }

    /// Appends the UTF-8 bytes of `text`; they must fit.
    @inlinable
    package mutating func append(_ text: String) {
        text.withUTF8Bytes { append(UnsafeRawBufferPointer($0)) }
    }

    /// A string of at most `capacity` UTF-8 bytes, made in one allocation by `build`.
    @inlinable
    package static func string(capacity: Int, _ build: (inout ByteBlock) -> Void) -> String {
        String(unsafeUninitializedCapacity: capacity) { buffer in
            var block = ByteBlock(memory: UnsafeMutableRawBufferPointer(buffer))
            build(&block)
            return block.count
        }
    }
}
