import Glibc

/// A detached POSIX thread running one closure: libfcgi's blocking calls need threads of their
/// own, not a Swift concurrency executor.
enum WorkerThread {
    private final class Body {
        let run: @Sendable () -> Void
        init(_ run: @escaping @Sendable () -> Void) { self.run = run }
    }

    /// Starts a thread that runs `body`.
    static func start(_ body: @escaping @Sendable () -> Void) throws(ServerError) {
        let context = Unmanaged.passRetained(Body(body)).toOpaque()
        var handle = pthread_t()
        let result = pthread_create(&handle, nil, { context in
            Unmanaged<Body>.fromOpaque(context!).takeRetainedValue().run()
            return nil
        }, context)
        guard result == 0 else {
            Unmanaged<Body>.fromOpaque(context).release()
            throw ServerError(.cannotStart, "cannot start a worker thread: \(errnoDescription(result))", errno: result)
        }
        pthread_detach(handle)
    }
}

/// Counts threads that finished, so the main thread can wait for them with a deadline.
struct CompletionPipe: Sendable {
    private let readEnd: Int32
    private let writeEnd: Int32

    init() throws(ServerError) {
        (readEnd, writeEnd) = try makePipe("the completion pipe")
    }

    /// Tells the waiter one more thread finished.
    func signal() {
        var byte: UInt8 = 1
        _ = write(writeEnd, &byte, 1)
    }

    /// Waits until `count` threads finished or `seconds` passed; returns how many finished.
    func wait(for count: Int, seconds: Int) -> Int {
        var done = 0
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let deadline = Int(now.tv_sec) * 1000 + Int(now.tv_nsec) / 1_000_000 + seconds * 1000
        while done < count {
            clock_gettime(CLOCK_MONOTONIC, &now)
            let left = deadline - (Int(now.tv_sec) * 1000 + Int(now.tv_nsec) / 1_000_000)
            var request = pollfd(fd: readEnd, events: Int16(POLLIN), revents: 0)
            guard left > 0, poll(&request, 1, Int32(left)) == 1 else { break }
            var bytes = [UInt8](repeating: 0, count: 64)
            let got = read(readEnd, &bytes, bytes.count)
            if got > 0 { done += got }
        }
        return done
    }
}
