import FastCGI
import Foundation
import Obsession
import ObsessionPHP
import TestSupport
import Testing

/// PHP's session files as PHP itself leaves them, hostile ones too, and PHP's own garbage
/// collection over a directory the Swift side shares.
@Suite struct PHPFileBackendTests {
    let directory: TemporaryDirectory
    let backend: PHPFileBackend

    init() throws {
        directory = try TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: directory.file("php"), withIntermediateDirectories: true)
        backend = try PHPFileBackend(savePath: directory.file("php"))
    }

    static let hostile: [(String, String)] = [
        ("truncated", #"user|s:10:"ann"#),
        ("a wrong length", #"user|s:2:"ann";"#),
        ("a huge count", "cart|a:2147483647:{i:0;i:1;}"),
        ("deep nesting", "x|" + String(repeating: "a:1:{i:0;", count: 100) + "N;" + String(repeating: "}", count: 100)),
        ("a reference", #"a|a:0:{}b|R:2;"#),
        ("an object that would run code", #"u|O:8:"Exploder":1:{s:3:"cmd";s:9:"rm -rf /x";}n|i:1;"#),
        ("no key", "s:3:\"ann\";"),
        ("a negative count", "cart|a:-1:{}"),
        ("an integer overflow", "n|i:99999999999999999999999;"),
    ]

    @Test(arguments: hostile)
    func hostileFileIsRefusedWholeAndTheRequestGetsAFreshSession(_ hostile: (name: String, bytes: String)) throws {
        let id = backend.idFormat.random()
        try Data(hostile.bytes.utf8).write(to: URL(fileURLWithPath: backend.path(of: id)))
        if hostile.name == "an object that would run code" {
            // An object is no threat: it is never instantiated, only kept, and what Swift can read is read.
            #expect(try backend.load(id)?.values == ["n": 1])
            return
        }
        #expect { try backend.load(id) } throws: { error in
            guard case .unreadable = error as? SessionError else { return false }
            return true
        }
        let response = exchange(SessionMiddleware(idPersister: CookieIdPersistence(cookieName: "PHPSESSID"), backend: backend) { request, response in
            try response.write(try request.session()["user"]?.stringValue ?? "fresh")
        }, cookie: "PHPSESSID=\(id.text)")
        #expect(response.text == "fresh", "\(hostile.name)")
        #expect(response.errorLog.first?.contains("replaced by a fresh one") == true, "\(hostile.name)")
    }

    @Test func aFileOfAnotherUserOrALinkIsRefused() throws {
        let id = backend.idFormat.random()
        try "n|i:1;".write(toFile: directory.file("elsewhere"), atomically: false, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: backend.path(of: id), withDestinationPath: directory.file("elsewhere"))
        #expect { try backend.load(id) } throws: { "\($0)".contains("symbolic link") }
    }

    @Test func aFileOfAnotherUserIsRefused() throws {
        let id = backend.idFormat.random()
        try "n|i:1;".write(toFile: backend.path(of: id), atomically: false, encoding: .utf8)
        try #require(chown(backend.path(of: id), 65534, 65534) == 0, "the tests run as root, as CI does")
        #expect { try backend.load(id) } throws: { "\($0)".contains("belongs to another user") }
    }

    @Test func savePathsAreReadAsPHPReadsThem() throws {
        let levels = try PHPFileBackend(savePath: "2;0640;\(directory.file("php"))")
        #expect(levels.levels == 2 && levels.fileMode == 0o640 && levels.directory == directory.file("php"))
        let id = SessionID(validating: "abcdef0123456789abcdef0123456789", format: .php())!
        #expect(levels.path(of: id) == directory.file("php") + "/a/b/sess_abcdef0123456789abcdef0123456789")
        let moded = try PHPFileBackend(savePath: "0;0640;\(directory.file("php"))")
        _ = try moded.apply(SessionChanges(kind: .create(createdAt: 1), set: ["n": 1], removed: [], whole: ["n": 1], time: 1), to: id)
        let mode = try #require(try FileManager.default.attributesOfItem(atPath: moded.path(of: id))[.posixPermissions] as? Int)
        #expect(mode == 0o640)
        for bad in ["relative/path", "x;/path", "1;999;/path", "1;2;3;/path", "-1;/path"] {
            #expect(throws: PHPFormatError.self) { try PHPFileBackend(savePath: bad) }
        }
    }

    /// PHP's own collection (gc_probability 1 of 1, gc_maxlifetime 60 s), run by php8.2-cli over
    /// the shared directory, removes the expired session and keeps the one Swift used a moment ago.
    @Test(.requires("/usr/bin/php")) func phpsGarbageCollectionRemovesOnlyExpiredSessions() throws {
        let app = SessionMiddleware(idPersister: CookieIdPersistence(cookieName: "PHPSESSID"), backend: backend) { request, _ in
            try request.session()["n"] = 1
        }
        let fresh = try #require(exchange(app).sessionCookie(named: "PHPSESSID"))
        let old = try #require(exchange(app).sessionCookie(named: "PHPSESSID"))
        let oldFile = directory.file("php/sess_" + old)
        let twoHoursAgo = Int(Date().timeIntervalSince1970) - 7200
        var times = [timespec(tv_sec: twoHoursAgo, tv_nsec: 0), timespec(tv_sec: twoHoursAgo, tv_nsec: 0)]
        utimensat(AT_FDCWD, oldFile, &times, 0)
        try "<?php session_start(); echo session_gc();".write(toFile: directory.file("gc.php"), atomically: false, encoding: .utf8)
        let php = try ChildProcess("/usr/bin/php", [
            "-d", "session.save_path=\(directory.file("php"))", "-d", "session.gc_maxlifetime=60",
            "-d", "session.gc_probability=0", directory.file("gc.php"),
        ], in: directory, name: "php-gc")
        #expect(php.waitForExit(seconds: 30) == 0, "\(php.errorOutput)")
        #expect(php.output.hasSuffix("1"), "PHP removed \(php.output)")
        #expect(!FileManager.default.fileExists(atPath: oldFile))
        #expect(FileManager.default.fileExists(atPath: directory.file("php/sess_" + fresh)))
    }
}
