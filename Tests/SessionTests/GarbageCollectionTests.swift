import Foundation
@testable import Obsession
import TestSupport
import Testing

@Suite struct GarbageCollectionTests {
    let directory: TemporaryDirectory
    let clock = TestClock()

    init() throws { directory = try TemporaryDirectory() }

    /// Saves `expired` sessions, lets 2,000 s pass, saves `fresh` more; returns both ids.
    func store(in backend: FileBackend, expired: Int, fresh: Int) throws -> (expired: [SessionID], fresh: [SessionID]) {
        let old = (0..<expired).map { _ in SessionID.random() }
        for id in old { try backend.put(["n": 1], as: id, at: clock.now) }
        clock.advance(2000)
        let young = (0..<fresh).map { _ in SessionID.random() }
        for id in young { try backend.put(["n": 1], as: id, at: clock.now) }
        return (old, young)
    }

    @Test(arguments: [0, 1, 2])
    func expiredFilesGoFreshOnesStay(fanOut: Int) throws {
        let backend = FileBackend(directory: directory.file("sessions"), fanOut: fanOut, clock: clock)
        let (old, fresh) = try store(in: backend, expired: 30, fresh: 20)
        #expect(try Set(backend.storedIDs()) == Set(old + fresh))
        #expect(try backend.collectGarbage(olderThan: clock.now - 1440, limit: 1000) == 30)
        #expect(try Set(backend.storedIDs()) == Set(fresh))
    }

    /// An unbounded pass over a fan-out store shares the leaves among threads.
    @Test(arguments: [1, 2])
    func aWholePassOverFannedOutLeavesRemovesEveryExpiredFileButTheHeldOne(fanOut: Int) throws {
        let backend = FileBackend(directory: directory.file("sessions"), fanOut: fanOut, clock: clock)
        let (old, fresh) = try store(in: backend, expired: 300, fresh: 30)
        let held = open(backend.layout.path(of: old[0]), O_RDONLY)
        defer { close(held) }
        flock(held, LOCK_EX)
        #expect(try backend.collectGarbage(olderThan: clock.now - 1440, limit: .max) == old.count - 1)
        #expect(try Set(backend.storedIDs()) == Set(fresh + [old[0]]))
    }

    @Test func passIsBoundedByItsLimit() throws {
        let backend = FileBackend(directory: directory.file("sessions"), clock: clock)
        for _ in 0..<25 { try backend.put(["n": 1], as: SessionID.random(), at: clock.now) }
        clock.advance(5000)
        #expect(try backend.collectGarbage(olderThan: clock.now - 1440, limit: 10) == 10)
        #expect(try backend.storedIDs().count == 15)
    }

    @Test func fileAWriterHoldsIsLeftForLater() throws {
        let backend = FileBackend(directory: directory.file("sessions"), clock: clock)
        let held = SessionID.random()
        try backend.put(["n": 1], as: held, at: clock.now)
        clock.advance(5000)
        let descriptor = open(backend.layout.path(of: held), O_RDONLY)
        flock(descriptor, LOCK_EX)
        #expect(try backend.collectGarbage(olderThan: clock.now - 1440, limit: 10) == 0)
        close(descriptor)
        #expect(try backend.collectGarbage(olderThan: clock.now - 1440, limit: 10) == 1)
    }

    @Test func strayLockFilesOfGoneSessionsAreRemoved() throws {
        let backend = FileBackend(directory: directory.file("sessions"), locking: .exclusive(timeout: 1), clock: clock)
        let live = SessionID.random()
        let gone = SessionID.random()
        for id in [live, gone] {
            try backend.put(["n": 1], as: id, at: clock.now)
            try backend.hold(id)?.release()
        }
        try backend.delete(gone)
        #expect(try backend.collectGarbage(olderThan: clock.now - 1440, limit: 10) == 1)
        #expect(FileManager.default.fileExists(atPath: backend.layout.path(of: live) + ".lock"))
        #expect(!FileManager.default.fileExists(atPath: backend.layout.path(of: gone) + ".lock"))
    }

    @Test func strayTemporaryFilesGoAfterAnHourAndForeignNamesStay() throws {
        let backend = FileBackend(directory: directory.file("sessions"), clock: clock)
        let id = SessionID.random()
        try backend.put(["n": 1], as: id, at: clock.now)
        let stale = backend.layout.path(of: id) + ".tmp.old"
        let recent = backend.layout.path(of: id) + ".tmp.new"
        let foreign = ["notes.txt", "s_short", "s_\(id.text).bak", "x_\(id.text)"].map { backend.directory + "/" + $0 }
        for path in [stale, recent] + foreign { #expect(FileManager.default.createFile(atPath: path, contents: Data([1]))) }
        try setModificationTime(of: stale, to: clock.now - 3601)
        try setModificationTime(of: recent, to: clock.now - 3599)
        #expect(try backend.collectGarbage(olderThan: clock.now - 1440, limit: 10) == 1)
        #expect(!FileManager.default.fileExists(atPath: stale))
        for path in [recent, backend.layout.path(of: id)] + foreign { #expect(FileManager.default.fileExists(atPath: path), "\(path)") }
    }

    /// More files than one batch of the walk, so both batches are shared among threads; on a
    /// tmpfs, where removing 20,000 files is quick.
    @Test func aLargeStoreIsCollectedWholeButForTheHeldFile() throws {
        let scratch = try ScratchFilesystem(kilobytes: 200_000)
        let backend = FileBackend(directory: scratch.path + "/sessions", clock: clock)
        let count = 20_000
        #expect(count > SessionDirectory.batchSize + 2048)
        let old = (0..<count).map { _ in SessionID.random() }
        for id in old { try backend.put(["n": 1], as: id, at: clock.now) }
        clock.advance(2000)
        let fresh = (0..<10).map { _ in SessionID.random() }
        for id in fresh { try backend.put(["n": 1], as: id, at: clock.now) }
        let held = open(backend.layout.path(of: old[count / 2]), O_RDONLY)
        defer { close(held) }
        flock(held, LOCK_EX)
        #expect(try backend.collectGarbage(olderThan: clock.now - 1440, limit: .max) == count - 1)
        #expect(try Set(backend.storedIDs()) == Set(fresh + [old[count / 2]]))
    }

    @Test func theCommandLineToolCollectsAStore() throws {
        let backend = FileBackend(directory: directory.file("sessions"), fanOut: 1)
        let old = (0..<5).map { _ in SessionID.random() }
        let fresh = SessionID.random()
        // The tool judges by the system clock, as the store here does.
        for id in old + [fresh] { try backend.put(["n": 1], as: id, at: SystemClock().now) }
        for id in old { try setModificationTime(of: backend.layout.path(of: id), to: Int(Date().timeIntervalSince1970) - 100) }
        let tool = try ChildProcess(TestEnvironment.executable("obsession"),
                                    ["gc", "--sessions", backend.directory, "--fan-out", "1", "--idle-timeout", "60"],
                                    in: directory, name: "gc")
        #expect(tool.waitForExit() == 0)
        #expect(tool.output.hasPrefix("removed 5 files in "), "\(tool.output)")
        #expect(try backend.storedIDs() == [fresh])
        let wrong = try ChildProcess(TestEnvironment.executable("obsession"), ["gc", "--sessions"], in: directory, name: "wrong")
        #expect(wrong.waitForExit() == 64, "EX_USAGE, for scripts")
        #expect(wrong.errorOutput.contains("Missing value for '--sessions <sessions>'"), "\(wrong.errorOutput)")
        #expect(wrong.errorOutput.contains("Usage: obsession gc "), "\(wrong.errorOutput)")
    }

    /// An id whose first character is `first`: it lives in that leaf with fan-out.
    func id(startingWith first: Character) -> SessionID {
        SessionID(validating: String(first) + SessionID.random().text.dropFirst())!
    }

    @Test func aSmallPassStopsAfterItsShareOfLookingAndTheNextGoesOn() throws {
        let backend = FileBackend(directory: directory.file("sessions"), fanOut: 1, clock: clock)
        let expired = id(startingWith: "z")
        try backend.put(["n": 1], as: expired, at: clock.now)
        clock.advance(2000)
        for _ in 0..<100 { try backend.put(["n": 1], as: id(startingWith: "A"), at: clock.now) }
        // Limit 1: look at 16 files, whole leaves. Leaf A (100 live files) is the first pass's share.
        #expect(try backend.collectGarbage(olderThan: clock.now - 1440, limit: 1) == 0)
        #expect(try backend.collectGarbage(olderThan: clock.now - 1440, limit: 1) == 1, "the second pass starts at leaf B")
        #expect(try !backend.storedIDs().contains(expired))
        #expect(try backend.storedIDs().count == 100)
    }

    @Test func leavesAreTheFanOutLevelsInTheAlphabetsOrder() {
        let layout = FileLayout(directory: "/s", prefix: "s_", fanOut: 2)
        #expect(layout.leafCount == 4096)
        #expect(layout.leafPath(0) == "/s/A/A")
        #expect(layout.leafPath(64 * 62 + 1) == "/s/_/B")
        #expect(layout.leafPath(4095) == "/s/-/-")
        #expect(FileLayout(directory: "/s", prefix: "", fanOut: 0).leafPath(0) == "/s")
    }

    @Test func fanOutNamesLevelsByTheIdsFirstCharacters() throws {
        let backend = FileBackend(directory: "/s", prefix: "p_", fanOut: 2)
        let id = try #require(SessionID(validating: ".b" + String(repeating: "c", count: 38)))
        #expect(backend.layout.path(of: id) == "/s/_/b/p_.b" + String(repeating: "c", count: 38))
    }

    @Test func idleWorkersCollectThroughTheMiddleware() throws {
        let backend = FileBackend(directory: directory.file("sessions"), clock: clock)
        let id = SessionID.random()
        try backend.put(["n": 1], as: id, at: clock.now)
        clock.advance(100)
        let middleware = SessionMiddleware(backend: backend, idleTimeout: 10, clock: clock) { _, _ in }
        middleware.idle()
        #expect(try backend.storedIDs().isEmpty)
        // Expired already; but no session can expire faster than the idle timeout, so no pass
        // comes sooner after the last.
        try backend.put(["n": 1], as: id, at: clock.now - 50)
        clock.advance(5)
        middleware.idle()
        #expect(try backend.storedIDs() == [id], "the last pass was 5 s ago, the idle timeout 10 s")
        clock.advance(5)
        middleware.idle()
        #expect(try backend.storedIDs().isEmpty)
    }
}
