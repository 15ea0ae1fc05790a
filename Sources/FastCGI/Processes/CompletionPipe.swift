import Glibc

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
        let deadline = MonotonicClock.now + Double(seconds)
        while done < count {
            let left = MonotonicClock.milliseconds(until: deadline)
            var request = pollfd(fd: readEnd, events: Int16(POLLIN), revents: 0)
            guard left > 0, poll(&request, 1, left) == 1 else { break }
            var bytes = [UInt8](repeating: 0, count: 64)
            let got = read(readEnd, &bytes, bytes.count)
            if got > 0 { done += got }
        }
        return done
    }
}
