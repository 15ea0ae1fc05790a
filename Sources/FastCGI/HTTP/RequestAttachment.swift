/// A key under which middleware attaches a value to a request, typed by the key.
///
/// ```swift
/// enum RequestStart: RequestAttachmentKey { typealias Value = Int }
///
/// request[RequestStart.self] = now()
/// let started = request[RequestStart.self]
/// ```
public protocol RequestAttachmentKey {
    /// The type of the value stored under this key.
    associatedtype Value
}

extension Request {
    /// The value attached under `key`, or nil.
    ///
    /// ```swift
    /// request[RequestStart.self] = 42
    /// ```
    @inlinable
    public subscript<Key: RequestAttachmentKey>(key: Key.Type) -> Key.Value? {
        get { attachments.first { $0.key == ObjectIdentifier(key) }?.value as? Key.Value }
        set {
            attachments.removeAll { $0.key == ObjectIdentifier(key) }
            if let newValue { attachments.append((ObjectIdentifier(key), newValue)) }
        }
    }
}
