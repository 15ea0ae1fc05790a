import Foundation
@testable import Obsession
import Testing

@Suite struct GarbageCollectionTests {
    let directory: TemporaryDirectory
    let clock = TestClock()

    init() throws { directory = try TemporaryDirectory() }

    @Test(arguments: [0, 1, 2])
    func expiredFilesGoFreshOnesStay(fanOut: Int) throws {
        let backend = FileBackend(directory: directory.file("sessions"), fanOut: fanOut, clock: clock)
        let old = (0..<30).map { _ in SessionID.random() }
        for id in old { try backend.save(id, data: [1]) }
        clock.advance(2000)
        let fresh = (0..<20).map { _ in SessionID.random() }
        for id in fresh { try backend.save(id, data: [1]) }
        #expect(try Set(backend.keys()) == Set(old + fresh))
        #expect(try backend.collectGarbage(olderThan: clock.now - 1440, limit: 1000) == 30)
        #expect(try Set(backend.keys()) == Set(fresh))
    }

    @Test func passIsBoundedByItsLimit() throws {
        let backend = FileBackend(directory: directory.file("sessions"), clock: clock)
        for _ in 0..<25 { try backend.save(SessionID.random(), data: [1]) }
        clock.advance(5000)
        #expect(try backend.collectGarbage(olderThan: clock.now - 1440, limit: 10) == 10)
        #expect(try backend.keys().count == 15)
    }

    @Test func fileAWriterHoldsIsLeftForLater() throws {
        let backend = FileBackend(directory: directory.file("sessions"), clock: clock)
        let held = SessionID.random()
        try backend.save(held, data: [1])
        clock.advance(5000)
        let descriptor = open(backend.path(of: held), O_RDONLY)
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
            try backend.save(id, data: [1])
            try backend.lease(id)?.end()
        }
        try backend.delete(gone)
        #expect(try backend.collectGarbage(olderThan: clock.now - 1440, limit: 10) == 1)
        #expect(FileManager.default.fileExists(atPath: backend.path(of: live) + ".lock"))
        #expect(!FileManager.default.fileExists(atPath: backend.path(of: gone) + ".lock"))
    }

    @Test func fanOutNamesLevelsByTheIdsFirstCharacters() throws {
        let backend = FileBackend(directory: "/s", prefix: "p_", fanOut: 2)
        let id = try #require(SessionID(validating: ".b" + String(repeating: "c", count: 38)))
        #expect(backend.path(of: id) == "/s/_/b/p_.b" + String(repeating: "c", count: 38))
    }

    @Test func idleWorkersCollectThroughTheMiddleware() throws {
        let backend = FileBackend(directory: directory.file("sessions"), clock: clock)
        let id = SessionID.random()
        try backend.save(id, data: [1])
        clock.advance(100)
        let middleware = SessionMiddleware(backend: backend, idleTimeout: 10, clock: clock) { _, _ in }
        middleware.idle()
        #expect(try backend.keys().isEmpty)
        try backend.save(id, data: [1])
        clock.advance(20)
        middleware.idle()
        #expect(try backend.keys() == [id], "expired, but the last pass was 20 s ago: at most one pass a minute")
        clock.advance(41)
        middleware.idle()
        #expect(try backend.keys().isEmpty)
    }
}
