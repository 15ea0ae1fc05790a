// backend-loop: FileBackend alone, the way a request uses it (hold, load, apply its change,
// release), on 1,000 sessions picked at random; prints operations per second.
//
//     backend-loop DIRECTORY [SECONDS]
import Glibc
import Obsession

let directory = CommandLine.arguments.count > 1 ? CommandLine.arguments[1] : "/tmp/backend-loop"
let seconds = CommandLine.arguments.count > 2 ? Double(CommandLine.arguments[2]) ?? 3 : 3
let backend = FileBackend(directory: directory)
let clock = SystemClock()
let ids = (0..<1000).map { _ in SessionID.random() }
for id in ids {
    _ = try backend.apply(SessionChanges(kind: .create(createdAt: 0), set: ["n": 0], removed: [], whole: ["n": 0], time: 0), to: id)
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
let start = MonotonicClock.now
while MonotonicClock.now - start < seconds {
    for _ in 0..<1000 {
        let id = ids[nextIndex()]
        // What a request does: hold the session, read it, change a key, hand the store the change.
        guard let hold = try backend.hold(id), let stored = try hold.load() else { fatalError("session \(id) vanished") }
        let n: SessionValue = .int((stored.values["n"]?.intValue ?? 0) + 1)
        let changes = SessionChanges(kind: .update(basedOn: stored.revision), set: ["n": n], removed: [],
                                     whole: stored.values.merging(["n": n]) { $1 }, time: clock.now)
        guard case .applied = try hold.apply(changes) else { fatalError("session \(id) vanished") }
        hold.release()
        operations += 1
    }
}
print(Int(Double(operations) / (MonotonicClock.now - start)))
