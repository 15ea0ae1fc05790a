extension String {
    /// Calls `body` with the string's UTF-8 bytes: in place for a native string (no copy, and
    /// a plain buffer to scan instead of the UTF-8 view's index checks), else from a copy.
    ///
    /// ```swift
    /// let isDigits = text.withUTF8Bytes { $0.allSatisfy { (48...57).contains($0) } }
    /// ```
    @inlinable
    package func withUTF8Bytes<Result>(_ body: (UnsafeBufferPointer<UInt8>) throws -> Result) rethrows -> Result {
        if let result = try utf8.withContiguousStorageIfAvailable(body) { return result }
        var copy = self
        return try copy.withUTF8(body)
    }
}
