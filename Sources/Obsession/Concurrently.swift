import Glibc

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
        var threads: [pthread_t?] = []
        for part in parts.dropFirst() { threads.append(startThread(running: part)) }
        parts[0].run()
        for (index, thread) in threads.enumerated() {
            if let thread { pthread_join(thread, nil) } else { parts[index + 1].run() }
        }
        return parts.map { $0.result! }
    }
}

/// Work a thread of `concurrently` runs.
private protocol Runnable: AnyObject {
    func run()
}

/// One thread's share of `concurrently`: its work, then its result.
private final class Part<Result>: Runnable {
    private let work: () -> Result
    private(set) var result: Result?

    init(_ work: @escaping () -> Result) { self.work = work }

    func run() { result = work() }
}

/// A joinable thread running `work`; nil if none could start.
private func startThread(running work: any Runnable) -> pthread_t? {
    final class Box { let work: any Runnable; init(_ work: any Runnable) { self.work = work } }
    let context = Unmanaged.passRetained(Box(work)).toOpaque()
    var thread = pthread_t()
    let started = pthread_create(&thread, nil, { context in
        Unmanaged<Box>.fromOpaque(context!).takeRetainedValue().work.run()
        return nil
    }, context)
    guard started == 0 else {
        Unmanaged<Box>.fromOpaque(context).release()
        return nil
    }
    return thread
}
