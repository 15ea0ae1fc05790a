import Glibc

/// Starts POSIX threads: libfcgi's blocking calls, and a garbage collection spread over the
/// processors, need threads of their own, not a Swift concurrency executor.
package enum Threads {
    private final class Body: @unchecked Sendable {
        let run: () -> Void
        init(_ run: @escaping () -> Void) { self.run = run }
    }

    /// A started thread, to wait for.
    package struct Handle {
        fileprivate let thread: pthread_t

        /// Waits until the thread has finished. The corresponding C function is `pthread_join`.
        package func join() {
            pthread_join(thread, nil)
        }
    }

    /// Starts a thread running `body`: detached, or joinable (then its handle is to be joined).
    /// Throws the error `pthread_create` gave. `body` runs on another thread: what it touches
    /// must be safe to touch there.
    ///
    /// ```swift
    /// let thread = try Threads.start(detached: false) { work() }
    /// thread.join()
    /// ```
    @discardableResult
    package static func start(detached: Bool, _ body: @escaping () -> Void) throws(Errno) -> Handle {
        let context = Unmanaged.passRetained(Body(body)).toOpaque()
        var handle = pthread_t()
        let result = pthread_create(&handle, nil, { context in
            Unmanaged<Body>.fromOpaque(context!).takeRetainedValue().run()
            return nil
        }, context)
        guard result == 0 else {
            Unmanaged<Body>.fromOpaque(context).release()
            throw Errno(result)
        }
        if detached { pthread_detach(handle) }
        return Handle(thread: handle)
    }
}
