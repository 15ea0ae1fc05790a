import FastCGI
import Foundation
@testable import Obsession
import ObsessionPHP
import ObsessionPerl
import ObsessionRedis
import TestSupport
import Testing

/// A store under test: how to make one, and how to break it as only it can be broken. A new
/// store is done when the conformance suite passes with its fixture in ``all``.
struct BackendFixture: Sendable, CustomTestStringConvertible {
    let name: String
    /// A store in `directory` (for those that keep files), judged by `clock`; `exclusive` asks
    /// for one that holds sessions for whole requests. With it, what must live as long as the
    /// store (a server the fixture started, stopped when the test lets it go).
    let make: @Sendable (_ directory: TemporaryDirectory, _ clock: TestClock, _ exclusive: Bool) throws
        -> (backend: any SessionBackend, server: AnyObject?)
    /// Whether it can hold sessions for whole requests (``SessionHolding``).
    let holds: Bool
    /// Whether its expired sessions must be collected (``SessionGarbageCollecting``); a store
    /// that expires them itself (Redis) has no collection.
    let collects: Bool
    /// Makes the stored session `id` unreadable, as this store's data can be damaged; nil for a
    /// store whose data cannot be (memory holds values, not bytes).
    let corrupt: (@Sendable (_ directory: TemporaryDirectory, _ server: AnyObject?, _ id: SessionID) throws -> Void)?
    /// A store of this kind, a way to make it fail for real and one to end the failure (a read
    /// may still work while it lasts: then nothing); nil for a store that has no way to fail
    /// (memory).
    let failing: (@Sendable (_ directory: TemporaryDirectory, _ clock: TestClock) throws
        -> (backend: any SessionBackend, fail: () throws -> Void, restore: () throws -> Void, keep: AnyObject))?
    /// Whether it holds every request's session to its end (PHP's lock discipline), so that no
    /// request of a session runs while another has it: nothing happens "meanwhile".
    var serializesRequests = false
    /// Whether a session's age follows the store's clock (phpredis keeps no times: it reads a
    /// session's last use from Redis's TTL, in real time).
    var followsTheClock = true
    /// Whether it keeps a session's creation time (PHP's files do not: it is their modification time).
    var keepsCreationTime = true
    /// Whether it refuses a session beyond ``StoredSession/maxDataSize`` (memory holds what it is given).
    var limitsSize = true
    /// The status and the log line's start a failing store gives.
    var failure: (status: Int, log: String) = (500, "session backend failed")

    var testDescription: String { name }

    static let memory = BackendFixture(
        name: "memory", make: { _, _, _ in (MemoryBackend(size: 1000), nil) }, holds: false, collects: true, corrupt: nil,
        failing: nil, limitsSize: false)

    static func file(fanOut: Int) -> BackendFixture {
        BackendFixture(
            name: fanOut == 0 ? "file" : "file, fan-out \(fanOut)",
            make: { directory, clock, exclusive in
                (FileBackend(directory: directory.file("sessions"), locking: exclusive ? .exclusive(timeout: 5) : .merge,
                             fanOut: fanOut, clock: clock), nil)
            },
            holds: true,
            collects: true,
            corrupt: { directory, _, id in
                let path = FileLayout(directory: directory.file("sessions"), prefix: "s_", fanOut: fanOut).path(of: id)
                var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
                bytes[bytes.count - 1] ^= 0x20
                try Data(bytes).write(to: URL(fileURLWithPath: path))
            },
            failing: { _, clock in
                let filesystem = try ScratchFilesystem(kilobytes: 256)
                let backend = FileBackend(directory: filesystem.path + "/sessions", fanOut: fanOut, clock: clock)
                return (backend, { try filesystem.makeReadOnly() }, {}, filesystem)
            })
    }

    /// A real redis-server of the test's own, over TCP or its Unix socket.
    static func redis(unixSocket: Bool) -> BackendFixture {
        BackendFixture(
            name: unixSocket ? "redis, unix socket" : "redis",
            make: { directory, clock, exclusive in
                let redis = try RedisProcess(in: directory)
                let server = unixSocket ? RedisServer(.unix(path: redis.socketPath)) : redis.server
                return (RedisBackend(server, locking: exclusive ? .exclusive(timeout: 5) : .merge, clock: clock), redis)
            },
            holds: true,
            collects: false,
            corrupt: { _, server, id in
                try #require(server as? RedisProcess).cli("HSET", "obsession:{\(id.text)}", "v:user", "{not json")
            },
            failing: { directory, clock in
                let redis = try RedisProcess(in: directory, name: "failing-redis", configuration: ["appendonly yes"])
                return (RedisBackend(redis.server, clock: clock), { redis.stop() }, { try redis.start() }, redis)
            },
            failure: (503, "session store unavailable"))
    }

    /// PHP's own session files, in each of PHP's two formats; `levels` of subdirectories.
    static func php(_ format: PHPSessionFormat, levels: Int) -> BackendFixture {
        /// A save path in `directory`, its level directories made as PHP's own script makes them.
        @Sendable func savePath(in directory: String) throws -> String {
            var paths = [directory]
            for _ in 0..<levels {
                paths = paths.flatMap { path in SessionIDFormat.php().alphabet.map { path + "/" + String(UnicodeScalar($0)) } }
            }
            for path in paths { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) }
            return levels == 0 ? directory : "\(levels);\(directory)"
        }
        return BackendFixture(
            name: "PHP files, \(format.rawValue)\(levels == 0 ? "" : ", \(levels) levels")",
            make: { directory, clock, _ in
                (try PHPFileBackend(savePath: try savePath(in: directory.file("php")), format: format, lockTimeout: 5, clock: clock), nil)
            },
            holds: true,
            collects: false,
            corrupt: { directory, _, id in
                let backend = try PHPFileBackend(savePath: try savePath(in: directory.file("php")), format: format)
                try Data("user|s:99:\"cut".utf8).write(to: URL(fileURLWithPath: backend.path(of: id)))
            },
            failing: { _, clock in
                let filesystem = try ScratchFilesystem(kilobytes: 256)
                let backend = try PHPFileBackend(savePath: try savePath(in: filesystem.path + "/php"), format: format, clock: clock)
                return (backend, { try filesystem.makeReadOnly() }, {}, filesystem)
            },
            serializesRequests: true, keepsCreationTime: false, limitsSize: false)
    }

    /// PHP's sessions in Redis as phpredis keeps them.
    static func phpRedis(_ format: PHPSessionFormat) -> BackendFixture {
        BackendFixture(
            name: "phpredis, \(format.rawValue)",
            make: { directory, clock, _ in
                let redis = try RedisProcess(in: directory)
                return (PHPRedisBackend(redis.server, format: format, lockTimeout: 5, clock: clock), redis)
            },
            holds: true,
            collects: false,
            corrupt: { _, server, id in
                try #require(server as? RedisProcess).cli("SET", "PHPREDIS_SESSION:\(id.text)", "user|s:99:\"cut")
            },
            failing: { directory, clock in
                let redis = try RedisProcess(in: directory, name: "failing-redis", configuration: ["appendonly yes"])
                return (PHPRedisBackend(redis.server, format: format, clock: clock), { redis.stop() }, { try redis.start() }, redis)
            },
            serializesRequests: true, followsTheClock: false, keepsCreationTime: false, limitsSize: false,
            failure: (503, "session store unavailable"))
    }

    /// CGI::Session's file driver, with each serializer.
    static func perl(_ serializer: PerlSerializer) -> BackendFixture {
        BackendFixture(
            name: "Perl CGI::Session, \(serializer.rawValue)",
            make: { directory, clock, _ in
                try FileManager.default.createDirectory(atPath: directory.file("perl"), withIntermediateDirectories: true)
                return (PerlFileBackend(directory: directory.file("perl"), serializer: serializer, lockTimeout: 5, clock: clock), nil)
            },
            holds: false,
            collects: false,
            corrupt: { directory, _, id in
                try Data("$D = {'_SESSION_ID' => 'x',".utf8).write(to: URL(fileURLWithPath: directory.file("perl/cgisess_\(id.text)")))
            },
            failing: { _, clock in
                let filesystem = try ScratchFilesystem(kilobytes: 256)
                try FileManager.default.createDirectory(atPath: filesystem.path + "/perl", withIntermediateDirectories: true)
                let backend = PerlFileBackend(directory: filesystem.path + "/perl", serializer: serializer, clock: clock)
                return (backend, { try filesystem.makeReadOnly() }, {}, filesystem)
            },
            limitsSize: false)
    }

    static let all: [BackendFixture] = [.perl(.default), .perl(.json), .memory, .file(fanOut: 0), .file(fanOut: 2), .redis(unixSocket: false),
                                        .redis(unixSocket: true), .php(.php, levels: 0), .php(.phpSerialize, levels: 1),
                                        .phpRedis(.php), .phpRedis(.phpSerialize)]
}

/// The behaviour every store owes the session: one suite, run against each store in
/// ``BackendFixture/all``. Where a store's nature rules a test out, its fixture says so (no
/// corruption for memory, which holds values, not bytes; no failure either; no exclusive holds).
@Suite(.requires(RedisProcess.executable)) struct BackendConformanceTests {
    let directory: TemporaryDirectory
    let clock = TestClock()
    /// Servers the test's stores need, stopped when the test ends.
    private let servers = Locked<[AnyObject]>([])

    init() throws { directory = try TemporaryDirectory() }

    func make(_ fixture: BackendFixture, exclusive: Bool = false) throws -> any SessionBackend {
        let (backend, server) = try fixture.make(directory, clock, exclusive)
        if let server { servers.withLock { $0.append(server) } }
        return backend
    }

    /// The server behind the store `make` made last.
    var server: AnyObject? { servers.withLock { $0.last } }

    func create(_ values: [String: SessionValue], as id: SessionID, in backend: any SessionBackend) throws -> SessionChanges.Outcome {
        try backend.apply(SessionChanges(kind: .create(createdAt: clock.now), set: values, removed: [], whole: values, time: clock.now), to: id)
    }

    func update(_ id: SessionID, in backend: any SessionBackend, set: [String: SessionValue] = [:], removed: Set<String> = [],
                basedOn revision: UInt64? = nil, whole: [String: SessionValue] = [:]) throws -> SessionChanges.Outcome {
        try backend.apply(SessionChanges(kind: .update(basedOn: revision), set: set, removed: removed, whole: whole, time: clock.now), to: id)
    }

    @Test(arguments: BackendFixture.all)
    func storedSessionReadsBackWithItsValuesAndTimes(_ fixture: BackendFixture) throws {
        let backend = try make(fixture)
        let id = backend.idFormat.random()
        let begun = clock.now
        guard case .applied = try create(["user": "ann", "cart": [1, 2]], as: id, in: backend) else { Issue.record("not stored"); return }
        clock.advance(30)
        guard case .applied = try update(id, in: backend, set: ["cart": [1, 2, 3]]) else { Issue.record("not updated"); return }
        let stored = try #require(try backend.load(id))
        #expect(stored.values == ["user": "ann", "cart": [1, 2, 3]])
        if fixture.keepsCreationTime { #expect(stored.createdAt == begun) }
        #expect(stored.modifiedAt == clock.now)
        #expect(try backend.load(backend.idFormat.random()) == nil)
    }

    @Test(arguments: BackendFixture.all)
    func newSessionIsStoredOnlyWhereNothingIs(_ fixture: BackendFixture) throws {
        let backend = try make(fixture)
        let id = backend.idFormat.random()
        guard case .applied = try create(["a": 1], as: id, in: backend) else { Issue.record("not stored"); return }
        #expect(try create(["b": 2], as: id, in: backend) == .exists)
        #expect(try backend.load(id)?.values == ["a": 1])
    }

    @Test(arguments: BackendFixture.all)
    func changeOfADeletedSessionIsGoneAndBringsNothingBack(_ fixture: BackendFixture) throws {
        let backend = try make(fixture)
        let id = backend.idFormat.random()
        _ = try create(["user": "ann"], as: id, in: backend)
        try backend.delete(id)
        #expect(try update(id, in: backend, set: ["late": true]) == .gone)
        #expect(try backend.load(id) == nil)
        try backend.delete(id)
    }

    @Test(arguments: BackendFixture.all.filter { !$0.serializesRequests })
    func cycleWhileASlowerRequestSavesLeavesTheOldIdGone(_ fixture: BackendFixture) throws {
        let backend = try make(fixture)
        let id = backend.idFormat.random()
        _ = try create(["user": "ann"], as: id, in: backend)
        let clock = clock
        nonisolated(unsafe) var cycled: String?
        _ = exchange(SessionMiddleware(backend: backend, clock: clock) { request, _ in
            let session = try request.session()
            // No grace period: the old id is deleted, as a logout deletes it.
            cycled = exchange(SessionMiddleware(backend: backend, cycleGracePeriod: 0, clock: clock) { inner, _ in
                try inner.session().cycle()
            }, cookie: "_obs=\(id.text)").sessionCookie()
            session["late"] = true
        }, cookie: "_obs=\(id.text)")
        #expect(try backend.load(id) == nil)
        let new = try #require(cycled.flatMap { SessionID(validating: $0, format: backend.idFormat) })
        #expect(try backend.load(new)?.values == ["user": "ann"])
    }

    @Test(arguments: BackendFixture.all)
    func changesToDifferentKeysAtOnceAllSurvive(_ fixture: BackendFixture) throws {
        let backend = try make(fixture)
        let id = backend.idFormat.random()
        _ = try create(["start": 0], as: id, in: backend)
        let failures = Results()
        let now = clock.now
        DispatchQueue.concurrentPerform(iterations: 8) { thread in
            for index in 0..<25 {
                let key = "k\(thread)-\(index)"
                let outcome = try? backend.apply(SessionChanges(kind: .update(basedOn: nil), set: [key: .int(index)], removed: [],
                                                                whole: [:], time: now), to: id)
                if case .applied = outcome {} else { failures.record(true) }
            }
        }
        #expect(failures.good == 0)
        let values = try #require(try backend.load(id)).values
        #expect(values.count == 201)
        #expect(values["start"] == 0 && values["k7-24"] == 24)
    }

    @Test(arguments: BackendFixture.all)
    func removedKeysGoAndOtherRequestsKeysStay(_ fixture: BackendFixture) throws {
        let backend = try make(fixture)
        let id = backend.idFormat.random()
        _ = try create(["cart": [1], "flash": "hi", "n": 0], as: id, in: backend)
        _ = try update(id, in: backend, set: ["n": 5])
        _ = try update(id, in: backend, set: ["user": "ann"], removed: ["cart"])
        #expect(try backend.load(id)?.values == ["flash": "hi", "n": 5, "user": "ann"])
    }

    /// Merging stops at the top level: a value set replaces the stored one whole.
    @Test(arguments: BackendFixture.all)
    func aValueSetReplacesTheStoredOneWhole(_ fixture: BackendFixture) throws {
        let backend = try make(fixture)
        let id = backend.idFormat.random()
        _ = try create(["prefs": ["theme": "dark", "size": 12]], as: id, in: backend)
        _ = try update(id, in: backend, set: ["prefs": ["theme": "light"]])
        #expect(try backend.load(id)?.values == ["prefs": ["theme": "light"]])
    }

    /// A store that names revisions may write a request's whole view when nothing changed since
    /// it read; one that changed meanwhile is merged into, never overwritten.
    @Test(arguments: BackendFixture.all)
    func aStaleWholeViewIsMergedNotWritten(_ fixture: BackendFixture) throws {
        let backend = try make(fixture)
        let id = backend.idFormat.random()
        _ = try create(["a": 1], as: id, in: backend)
        let read = try #require(try backend.load(id))
        _ = try update(id, in: backend, set: ["b": 2])
        _ = try update(id, in: backend, set: ["c": 3], basedOn: read.revision, whole: ["a": 1, "c": 3])
        #expect(try backend.load(id)?.values == ["a": 1, "b": 2, "c": 3])
    }

    @Test(arguments: BackendFixture.all)
    func touchMarksTheSessionUsedWithoutChangingIt(_ fixture: BackendFixture) throws {
        let backend = try make(fixture)
        let id = backend.idFormat.random()
        _ = try create(["n": 1], as: id, in: backend)
        clock.advance(100)
        try backend.touch(id, at: clock.now)
        let stored = try #require(try backend.load(id))
        #expect(stored.modifiedAt == clock.now)
        #expect(stored.values == ["n": 1])
        try backend.touch(backend.idFormat.random(), at: clock.now)
    }

    @Test(arguments: BackendFixture.all.filter(\.followsTheClock))
    func expiredSessionIsNotHandedOverAndIsRemoved(_ fixture: BackendFixture) throws {
        let backend = try make(fixture)
        let id = backend.idFormat.random()
        _ = try create(["user": "ann"], as: id, in: backend)
        clock.advance(601)
        let response = exchange(SessionMiddleware(backend: backend, idleTimeout: 600, clock: clock) { request, response in
            try response.write(try request.session()["user"]?.stringValue ?? "none")
        }, cookie: "_obs=\(id.text)")
        #expect(response.text == "none")
        #expect(try backend.load(id) == nil)
    }

    @Test(arguments: BackendFixture.all.filter(\.collects))
    func collectionRemovesOnlyTheExpired(_ fixture: BackendFixture) throws {
        let backend = try make(fixture)
        let old = backend.idFormat.random()
        _ = try create(["n": 1], as: old, in: backend)
        clock.advance(2000)
        let young = backend.idFormat.random()
        _ = try create(["n": 1], as: young, in: backend)
        let collector = try #require(backend.garbageCollection, "memory and files need collecting")
        #expect(try collector.collectGarbage(olderThan: clock.now - 1440, limit: 100) == 1)
        #expect(try backend.load(old) == nil)
        #expect(try backend.load(young) != nil)
        #expect(try backend.storedIDs() == [young])
    }

    @Test(arguments: BackendFixture.all.filter(\.holds))
    func exclusiveHoldMakesReadModifyWriteExact(_ fixture: BackendFixture) throws {
        let backend = try make(fixture, exclusive: true)
        let id = backend.idFormat.random()
        _ = try create(["n": 0], as: id, in: backend)
        let middleware = SessionMiddleware(backend: backend, clock: clock) { request, _ in
            let session = try request.session()
            session["n"] = .int((session["n"]?.intValue ?? 0) + 1)
        }
        DispatchQueue.concurrentPerform(iterations: 4) { _ in
            for _ in 0..<25 { _ = exchange(middleware, cookie: "_obs=\(id.text)") }
        }
        #expect(try backend.load(id)?.values["n"] == 100)
        let hold = try #require(try backend.holding?.hold(id))
        hold.release()
        #expect(try backend.holding?.hold(backend.idFormat.random()) == nil, "nothing is held for an id nobody issued")
    }

    @Test(arguments: BackendFixture.all.filter(\.limitsSize))
    func saveBeyondTheSizeLimitFailsAndLeavesTheStoredSession(_ fixture: BackendFixture) throws {
        let backend = try make(fixture)
        let id = backend.idFormat.random()
        let large = SessionValue.string(String(repeating: "x", count: StoredSession.maxDataSize / 2 + 1000))
        guard case .applied = try create(["a": large], as: id, in: backend) else { Issue.record("not stored"); return }
        #expect(throws: SessionError.self) { try update(id, in: backend, set: ["b": large]) }
        #expect(try backend.load(id)?.values == ["a": large])
        // Replacing the large value with a small one frees its room.
        guard case .applied = try update(id, in: backend, set: ["a": "small", "b": large]) else { Issue.record("not updated"); return }
        #expect(try backend.load(id)?.values == ["a": "small", "b": large])
    }

    @Test(arguments: BackendFixture.all.filter { $0.corrupt != nil })
    func corruptSessionIsUnreadableAndBecomesAFreshOne(_ fixture: BackendFixture) throws {
        let backend = try make(fixture)
        let id = backend.idFormat.random()
        _ = try create(["user": "ann"], as: id, in: backend)
        let corrupt = try #require(fixture.corrupt)
        try corrupt(directory, server, id)
        #expect { try backend.load(id) } throws: { error in
            guard case .unreadable = error as? SessionError else { return false }
            return true
        }
        let response = exchange(SessionMiddleware(backend: backend, clock: clock) { request, response in
            try response.write(try request.session()["user"]?.stringValue ?? "fresh")
        }, cookie: "_obs=\(id.text)")
        #expect(response.text == "fresh")
        #expect(response.errorLog.first?.contains("replaced by a fresh one") == true)
    }

    @Test(arguments: BackendFixture.all.filter { $0.failing != nil })
    func failingStoreAnswersAnErrorAndKeepsTheStoredSession(_ fixture: BackendFixture) throws {
        let makeFailing = try #require(fixture.failing)
        let (backend, fail, restore, kept) = try makeFailing(directory, clock)
        defer { withExtendedLifetime(kept) {} }
        let id = backend.idFormat.random()
        _ = try create(["n": 1], as: id, in: backend)
        try fail()
        let response = exchange(SessionMiddleware(backend: backend, clock: clock) { request, _ in
            try request.session()["n"] = 2
        }, cookie: "_obs=\(id.text)")
        #expect(response.status == fixture.failure.status)
        #expect(response.errorLog.first?.contains(fixture.failure.log) == true)
        try restore()
        #expect(try backend.load(id)?.values == ["n": 1])
    }
}
