// obsession: maintenance of a session store from the command line (and from a timer).
//
//     obsession gc --sessions DIR [--prefix s_] [--fan-out 0|1|2] [--idle-timeout SECONDS] [--limit N]
//
// Removes the session files idle for longer than the idle timeout (default 1440 s), lock files
// whose session is gone, and temporary files a crash left; prints how many and how long it took.
import Glibc
import Obsession

func fail(_ message: String) -> Never {
    var line = "obsession: \(message)\n"
    line.withUTF8 { _ = write(STDERR_FILENO, $0.baseAddress, $0.count) }
    exit(2)
}

let usage = "usage: obsession gc --sessions DIR [--prefix s_] [--fan-out 0|1|2] [--idle-timeout SECONDS] [--limit N]"
var arguments = Array(CommandLine.arguments.dropFirst())
guard arguments.first == "gc" else { fail(usage) }
var values: [String: String] = [:]
var index = 1
while index < arguments.count {
    let flag = arguments[index]
    guard ["--sessions", "--prefix", "--fan-out", "--idle-timeout", "--limit"].contains(flag), index + 1 < arguments.count else {
        fail("unknown option or missing value: \(flag)\n\(usage)")
    }
    values[flag] = arguments[index + 1]
    index += 2
}
guard let directory = values["--sessions"] else { fail(usage) }
@MainActor func number(_ flag: String, default value: Int) -> Int {
    guard let text = values[flag] else { return value }
    guard let number = Int(text), number >= 0 else { fail("\(flag) wants a number, not \(text)") }
    return number
}
let backend = FileBackend(directory: directory, prefix: values["--prefix"] ?? "s_", fanOut: number("--fan-out", default: 0))
var start = timespec()
clock_gettime(CLOCK_MONOTONIC, &start)
do {
    let removed = try backend.collectGarbage(olderThan: SystemClock().now - number("--idle-timeout", default: 1440),
                                             limit: number("--limit", default: Int.max))
    var end = timespec()
    clock_gettime(CLOCK_MONOTONIC, &end)
    let milliseconds = (end.tv_sec - start.tv_sec) * 1000 + (end.tv_nsec - start.tv_nsec) / 1_000_000
    print("removed \(removed) files in \(milliseconds) ms")
} catch {
    fail("\(error)")
}
