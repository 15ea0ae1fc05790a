import Foundation

/// A thread-safe tally of good results.
package final class Results: @unchecked Sendable {
    package init() {}

    private let lock = NSLock()
    private var count = 0

    /// How many good results were recorded so far; read under the lock, as other threads record.
    package var good: Int { lock.withLock { count } }

    package func record(_ ok: Bool) {
        if ok { lock.withLock { count += 1 } }
    }
}
