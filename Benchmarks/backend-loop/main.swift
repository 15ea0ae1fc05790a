// backend-loop: FileBackend alone, the way a request uses it (open once, load, merge-save,
// close), on 1,000 sessions picked at random; prints operations per second.
//
//     backend-loop DIRECTORY [SECONDS]
import Glibc
import Obsession

let directory = CommandLine.arguments.count > 1 ? CommandLine.arguments[1] : "/tmp/backend-loop"
let seconds = CommandLine.arguments.count > 2 ? Double(CommandLine.arguments[2]) ?? 3 : 3
let backend = FileBackend(directory: directory)
let ids = (0..<1000).map { _ in SessionID.random() }
for id in ids { try backend.save(id, data: Array("{\"n\":0}".utf8)) }

func now() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
}

/// xorshift64: a cheap pick of the next session, as the C loop's rand() is.
var state: UInt64 = 0x9E37_79B9_7F4A_7C15
@MainActor func nextIndex() -> Int {
    state ^= state << 13
    state ^= state >> 7
    state ^= state << 17
    return Int(state % UInt64(ids.count))
}

var operations = 0
let start = now()
while now() - start < seconds {
    for _ in 0..<1000 {
        let id = ids[nextIndex()]
        guard let lease = try backend.lease(id) else { fatalError("session \(id) vanished") }
        let stored = try backend.load(id, within: lease)
        try backend.update(id, within: lease) { current in
            // What a request's save does: decode what is stored, apply the change, encode.
            let text = String(decoding: (current ?? stored)?.data ?? [], as: UTF8.self)
            let n = Int(text.dropFirst(5).dropLast()) ?? 0
            return Array("{\"n\":\(n + 1)}".utf8)
        }
        lease.end()
        operations += 1
    }
}
print(Int(Double(operations) / (now() - start)))
