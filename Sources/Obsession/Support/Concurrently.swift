/// Runs `body(0)`, `body(1)` … `body(count - 1)` at once, each on a thread of its own (the first
/// on the caller's), and returns their results in order once all have finished. A thread that
/// cannot be started runs its part on the caller's thread instead.
///
/// ```swift
/// let sums = concurrently(2) { part in stride(from: part, to: numbers.count, by: 2).reduce(0) { $0 + numbers[$1] } }
/// ```
func concurrently<Result>(_ count: Int, _ body: (Int) -> Result) -> [Result] {
    withoutActuallyEscaping(body) { body in
        let parts = (0..<count).map { index in Part { body(index) } }
        let threads = parts.dropFirst().map { part in try? Threads.start(detached: false) { part.run() } }
        parts[0].run()
        for (index, thread) in threads.enumerated() {
            if let thread { thread.join() } else { parts[index + 1].run() }
        }
        return parts.map { $0.result! }
    }
}

/// One thread's share of `concurrently`: its work, then its result.
private final class Part<Result> {
    private let work: () -> Result
    private(set) var result: Result?

    init(_ work: @escaping () -> Result) { self.work = work }

    func run() { result = work() }
}
