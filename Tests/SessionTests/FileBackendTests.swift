import Foundation
@testable import Obsession
import TestSupport
import Testing

/// The file backend on real file systems: modes, links, owners, corrupt files, a full disk and a
/// read-only one.
@Suite struct FileBackendTests {
    let directory: TemporaryDirectory
    let clock = TestClock()
    let backend: FileBackend

    init() throws {
        directory = try TemporaryDirectory()
        backend = FileBackend(directory: directory.file("sessions"), prefix: "s_", clock: clock)
    }

    func path(_ id: SessionID) -> String { directory.file("sessions/s_\(id.text)") }

    /// Stores `values` under `id` at the test clock's time.
    func save(_ values: [String: SessionValue], as id: SessionID, in store: FileBackend? = nil) throws {
        try (store ?? backend).put(values, as: id, at: clock.now)
    }

    func mode(_ path: String) throws -> Int {
        try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int ?? -1
    }

    @Test func loginsAreAllIndexedWhileTheIndexIsSwept() throws {
        // One thread logs in 300 users, each making its index directory anew; another sweeps
        // the index meanwhile, removing every directory it finds empty and every entry it finds
        // without a session: neither may cost a login its entry.
        let stop = StopFlag()
        let failures = Results()
        let backend = backend
        let now = clock.now
        DispatchQueue.concurrentPerform(iterations: 2) { thread in
            if thread == 1 {
                while !stop.isStopped { _ = try? backend.sweepUserIndexIfDue(whole: true) }
                return
            }
            for index in 0..<300 {
                let id = SessionID.random(), user = SessionValue.string("user\(index)")
                do {
                    let login = SessionChanges(kind: .create(createdAt: now), set: ["_user": user], removed: [],
                                               whole: ["_user": user], time: now)
                    guard case .applied = try backend.apply(login, to: id) else { throw TestFailure("not stored") }
                    #expect(try backend.recordedSessions(ofUser: "user\(index)") == [id])
                } catch {
                    failures.record(true)
                    print("a login failed: \(error)")
                }
            }
            stop.stop()
        }
        #expect(failures.good == 0)
    }

    @Test func savedSessionReadsBackWithItsTimes() throws {
        let id = SessionID.random()
        try save(["a": 1], as: id)
        let created = clock.now
        clock.advance(30)
        try save(["a": 22], as: id)
        let stored = try #require(try backend.load(id))
        #expect(stored.values == ["a": 22])
        #expect(stored.createdAt == created)
        #expect(stored.modifiedAt == clock.now)
        clock.advance(30)
        try backend.touch(id, at: clock.now)
        #expect(try backend.load(id)?.modifiedAt == clock.now)
        #expect(try backend.load(id)?.values == ["a": 22])
        #expect(try backend.storedIDs() == [id])
        try backend.delete(id)
        #expect(try backend.load(id) == nil)
        try backend.delete(id)
    }

    @Test func shorterRecordReplacesALongerOneWhole() throws {
        let id = SessionID.random()
        try save(["x": .string(String(repeating: "x", count: 5000))], as: id)
        try save([:], as: id)
        #expect(try backend.load(id)?.values == [:])
        #expect(try FileManager.default.attributesOfItem(atPath: path(id))[.size] as? Int == SessionRecord.headerSize + 2)
    }

    @Test func staleTailAfterAShorterRecordIsIgnored() throws {
        // A crash between the in-place write and the truncate leaves the old record's tail.
        let id = SessionID.random()
        let long = SessionRecord.encode(data: Array(repeating: UInt8(ascii: "x"), count: 500), createdAt: 1)
        let short = SessionRecord.encode(data: Array("{\"n\":2}".utf8), createdAt: 1)
        try save(["n": 0], as: id)
        try Data(short + long[short.count...]).write(to: URL(fileURLWithPath: path(id)))
        #expect(try backend.load(id)?.values == ["n": 2])
    }

    /// A returning visitor whose session was collected: with exclusive locking, nothing is held
    /// and no lock file is made for an id nobody issued; a stored session is held, and its
    /// next request waits.
    @Test func holdOnAnUnknownIdHoldsNothingAndMakesNoLockFile() throws {
        let backend = FileBackend(directory: directory.file("sessions"), prefix: "s_", locking: .exclusive(timeout: 0.1))
        let id = SessionID.random()
        #expect(try backend.hold(id) == nil)
        #expect(!FileManager.default.fileExists(atPath: path(id) + ".lock"))
        try save([:], as: id, in: backend)
        let hold = try #require(try backend.hold(id))
        #expect(throws: SessionError.lockTimeout(seconds: 0.1)) { try backend.hold(id) }
        hold.release()
        try #require(try backend.hold(id)).release()
    }

    @Test(arguments: ["../s_", "a/b", "/", "s_\u{0}", "s p", String(repeating: "p", count: 65)])
    func prefixThatCouldLeaveTheDirectoryIsRefused(prefix: String) async {
        await #expect(processExitsWith: .failure) { [prefix] in
            _ = FileBackend(directory: "/tmp/unused", prefix: prefix)
        }
    }

    @Test func directoryIs0700AndFiles0600WhateverTheUmask() throws {
        let old = umask(0)
        defer { umask(old) }
        let id = SessionID.random()
        try save(["n": 1], as: id)
        #expect(try mode(directory.file("sessions")) == 0o700)
        #expect(try mode(path(id)) == 0o600)
    }

    @Test func existingOpenDirectoryIsMadePrivate() throws {
        try FileManager.default.createDirectory(atPath: directory.file("sessions"), withIntermediateDirectories: false,
                                                attributes: [.posixPermissions: 0o755])
        try save(["n": 1], as: SessionID.random())
        #expect(try mode(directory.file("sessions")) == 0o700)
    }

    @Test func directoryOfAnotherUserIsRefused() throws {
        try FileManager.default.createDirectory(atPath: directory.file("sessions"), withIntermediateDirectories: false)
        chown(directory.file("sessions"), 4242, 4242)
        #expect { try save(["n": 1], as: SessionID.random()) } throws: {
            "\($0)".contains("belongs to another user (uid 4242)")
        }
    }

    @Test(arguments: [0, 2])
    func storeRemovedWhileInUseIsMadeAgainPrivate(fanOut: Int) throws {
        let store = directory.file("sessions")
        let backend = FileBackend(directory: store, prefix: "s_", fanOut: fanOut, clock: clock)
        let old = SessionID.random()
        try save(["a": 1], as: old, in: backend)
        try FileManager.default.removeItem(atPath: store)

        let created = SessionID.random(), saved = SessionID.random()
        try save(["b": 2], as: created, in: backend)
        try save(["c": 3], as: saved, in: backend)
        #expect(try backend.load(created)?.values == ["b": 2])
        #expect(try backend.load(saved)?.values == ["c": 3])
        #expect(try backend.load(old) == nil)
        var level = store
        #expect(try mode(level) == 0o700)
        for character in created.text.utf8.prefix(fanOut) {
            level += "/" + FileLayout.levelName(character)
            #expect(try mode(level) == 0o700)
        }
    }

    @Test func storeTakenByAnotherUserAfterItsRemovalIsRefused() throws {
        // On a shared /tmp, someone else may make the name once the store is gone.
        let store = directory.file("sessions")
        try save(["n": 1], as: SessionID.random())
        try FileManager.default.removeItem(atPath: store)
        try FileManager.default.createDirectory(atPath: store, withIntermediateDirectories: false)
        chown(store, 4242, 4242)
        let id = SessionID.random()
        #expect { try save(["n": 2], as: id) } throws: {
            "\($0)".contains("belongs to another user (uid 4242)")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: store).isEmpty)
    }

    @Test func symbolicLinkIsNeverFollowed() throws {
        let id = SessionID.random()
        try save(["n": 1], as: SessionID.random())
        let target = directory.file("precious")
        try "keep me".write(toFile: target, atomically: false, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: path(id), withDestinationPath: target)
        #expect(throws: SessionError.self) { try backend.load(id) }
        #expect(throws: SessionError.self) { try save(["n": 2], as: id) }
        #expect(try String(contentsOfFile: target, encoding: .utf8) == "keep me")
    }

    @Test func fileOwnedByAnotherUserIsRefused() throws {
        let id = SessionID.random()
        try save(["n": 1], as: id)
        chown(path(id), 4242, 4242)
        #expect { try backend.load(id) } throws: { ($0 as? SessionError).map { "\($0)".contains("another user") } ?? false }
        #expect(throws: SessionError.self) { try save(["n": 2], as: id) }
    }

    @Test(arguments: ["truncated", "random", "empty", "huge", "flipped"])
    func corruptFileIsUnreadableNeverGarbage(kind: String) throws {
        let id = SessionID.random()
        try save(["user": "ann"], as: id)
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path(id))))
        switch kind {
        case "truncated": bytes.removeLast(3)
        case "random": bytes = (0..<64).map { _ in UInt8.random(in: 0...255) }
        case "empty": bytes = []
        case "huge": bytes += [UInt8](repeating: 7, count: 3 << 20)
        default: bytes[bytes.count - 2] ^= 0x20
        }
        try Data(bytes).write(to: URL(fileURLWithPath: path(id)))
        #expect { try backend.load(id) } throws: { error in
            guard case .unreadable = error as? SessionError else { return false }
            return true
        }
    }

    @Test func corruptFileBecomesAFreshSessionThroughTheMiddleware() throws {
        let id = SessionID.random()
        try save(["user": "ann"], as: id)
        try Data([0x4F, 0x42, 0x53, 0x31, 9, 9]).write(to: URL(fileURLWithPath: path(id)))
        let middleware = SessionMiddleware(backend: backend, clock: clock) { request, response in
            let session = try request.session()
            try response.write(session["user"]?.stringValue ?? "fresh")
            session["user"] = "new"
        }
        let response = exchange(middleware, cookie: "_obs=\(id.text)")
        #expect(response.status == 200)
        #expect(response.text == "fresh")
        #expect(response.sessionCookie() != id.text)
        #expect(response.errorLog.first?.contains("is not an intact session record") == true)
    }

    @Test func fullDiskFailsClearlyAndKeepsTheOldSession() throws {
        let filesystem = try ScratchFilesystem(kilobytes: 64)
        let small = FileBackend(directory: filesystem.path + "/sessions", clock: clock)
        let id = SessionID.random()
        try save(["n": 1], as: id, in: small)
        filesystem.fill()
        let large: [String: SessionValue] = ["x": .string(String(repeating: " ", count: 20000))]
        #expect { try save(large, as: id, in: small) } throws: {
            "\($0)".contains("no space left on device")
        }
        #expect(try small.load(id)?.values == ["n": 1])
        #expect { try save(large, as: SessionID.random(), in: small) } throws: {
            "\($0)".contains("no space left on device")
        }
    }

    @Test func readOnlyDirectoryFailsClearlyAndKeepsTheOldSession() throws {
        let filesystem = try ScratchFilesystem(kilobytes: 256)
        let store = FileBackend(directory: filesystem.path + "/sessions", clock: clock)
        let id = SessionID.random()
        try save(["n": 1], as: id, in: store)
        try filesystem.makeReadOnly()
        #expect { try save(["n": 2], as: id, in: store) } throws: { "\($0)".contains("read-only file system") }
        #expect(try store.load(id)?.values == ["n": 1])
    }
}
