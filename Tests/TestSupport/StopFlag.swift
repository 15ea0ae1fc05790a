import Foundation

/// A flag one thread raises to stop others' loops.
package final class StopFlag: @unchecked Sendable {
    package init() {}

    private let lock = NSLock()
    private var stopped = false
    package var isStopped: Bool { lock.withLock { stopped } }
    package func stop() { lock.withLock { stopped = true } }
}
