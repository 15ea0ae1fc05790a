public import Obsession

extension PHPSessionFormat {
    /// The values of `entries` a Swift page can hold faithfully: string keys that are UTF-8
    /// (and, with `php_serialize`, int keys in decimal), values PHP's arrays and scalars make.
    /// The rest is not shown, and stays as it is.
    ///
    /// ```swift
    /// let values = PHPSessionFormat.sessionValues(of: try PHPSessionFormat.php.decode(bytes))
    /// ```
    public static func sessionValues(of entries: [Entry]) -> [String: SessionValue] {
        var values: [String: SessionValue] = [:]
        for entry in entries {
            let key: String
            switch entry.key {
            case .int(let number): key = String(number)
            case .string(let bytes):
                guard let text = String(validating: bytes, as: UTF8.self) else { continue }
                key = text
            }
            guard let value = try? PHPValue(serialized: entry.serialized).sessionValue else { continue }
            values[key] = value
        }
        return values
    }

    /// `entries` with a request's changes: the keys it removed dropped, those it set serialized
    /// anew in place (new ones at the end, in name order), every other entry as it was.
    ///
    /// ```swift
    /// let updated = PHPSessionFormat.php.applying(changes, to: entries)
    /// ```
    public func applying(_ changes: SessionChanges, to entries: [Entry]) -> [Entry] {
        var updated = entries
        let removed = Set(changes.removed.map(key))
        updated.removeAll { removed.contains($0.key) }
        for (name, value) in changes.set.sorted(by: { $0.key < $1.key }) {
            let entry = Entry(key: key(name), serialized: PHPValue(value).serialized)
            if let index = updated.firstIndex(where: { $0.key == entry.key }) { updated[index] = entry } else { updated.append(entry) }
        }
        return updated
    }

    /// The top-level key a Swift name is: with `php_serialize`, a decimal integer is an int key,
    /// as PHP makes it; with `php`, every key is a string.
    func key(_ name: String) -> PHPValue.Key {
        self == .phpSerialize ? PHPValue.Key(name) : .string(Array(name.utf8))
    }
}
