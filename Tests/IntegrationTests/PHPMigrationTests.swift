import FastCGI
import Foundation
import TestSupport
import Testing

/// A PHP site and Swift pages behind one nginx, sharing PHP's own sessions: php-fpm 8.2 serves
/// Examples/migration/php, the demo the rest, on PHP's session files (--php-sessions) or on
/// phpredis's keys in a real Redis (--php-redis). One login, one cart, one logout, whichever
/// side a page is on.
@Suite(.serialized, .requires("/usr/sbin/nginx", PHPFPM.executable, RedisProcess.executable))
struct PHPMigrationTests {
    let directory: TemporaryDirectory
    let sessions: String
    /// Where the sessions are: PHP's files, or phpredis's keys.
    enum Store: String, CaseIterable { case files, redis }

    init() throws {
        directory = try TemporaryDirectory()
        sessions = directory.file("php-sessions")
        try FileManager.default.createDirectory(atPath: sessions, withIntermediateDirectories: true)
    }

    /// php-fpm, the demo and nginx, with PHP's session settings as Debian's php.ini has them
    /// (26 characters of 5 bits) and the handler `handler`, the sessions in `store` (a Redis of
    /// the test's own, with phpredis's locking on).
    func site(handler: String = "php", store: Store = .files, example: Bool = false) throws
        -> (php: PHPFPM, demo: ChildProcess, nginx: Nginx, redis: RedisProcess?) {
        var settings = [
            "session.serialize_handler": handler, "session.use_strict_mode": "1",
            "session.sid_length": "26", "session.sid_bits_per_character": "5", "session.gc_probability": "0",
        ]
        var storeArguments = ["--php-sessions", sessions]
        var redis: RedisProcess?
        if store == .redis {
            let server = try RedisProcess(in: directory)
            settings["session.save_handler"] = "redis"
            settings["session.save_path"] = "tcp://127.0.0.1:\(server.port)"
            settings["redis.session.locking_enabled"] = "1"
            settings["redis.session.lock_retries"] = "-1"
            settings["redis.session.lock_wait_time"] = "2000"
            storeArguments = ["--php-redis", server.url()]
            redis = server
        } else {
            settings["session.save_path"] = sessions
        }
        let php = try PHPFPM(in: directory, settings: settings)
        let demo: ChildProcess
        if example {
            // The worked example's own Swift pages, on PHP's files.
            demo = try ChildProcess(TestEnvironment.executable("migration"), [
                "--listen", "unix:" + directory.file("demo.sock"), "--socket-mode", "666", "--php-sessions", sessions,
            ], in: directory, name: "migration")
            guard waitUntilAccepting("unix:" + directory.file("demo.sock")) else { throw TestFailure("migration did not start: \(demo.errorOutput)") }
        } else {
            demo = try ChildProcess.demo(listening: "unix:" + directory.file("demo.sock"), sessions: directory.file("unused"),
                                         arguments: storeArguments + ["--php-serialize-handler", handler,
                                                     "--php-sid-length", "26", "--php-sid-bits", "5", "--cookie-name", "PHPSESSID",
                                                     "--cookie-secure", "off", "--workers", "4"],
                                         in: directory)
        }
        let pages = TestEnvironment.packageRoot.appendingPathComponent("Examples/migration/php").path
        let nginx = try Nginx(locations: """
            location ~ \\.php$ {
              include /etc/nginx/fastcgi_params;
              fastcgi_param SCRIPT_FILENAME \(pages)$fastcgi_script_name;
              fastcgi_pass unix:\(php.socket);
            }
            location / {
              include /etc/nginx/fastcgi_params;
              fastcgi_param SCRIPT_NAME "";
              fastcgi_param PATH_INFO $uri;
              fastcgi_pass unix:\(directory.file("demo.sock"));
            }
            """, in: directory)
        return (php, demo, nginx, redis)
    }

    func request(_ nginx: Nginx, _ path: String, method: String = "GET", cookie: String? = nil, form: String? = nil) throws -> HTTPResponse {
        var headers: [(String, String)] = cookie.map { [("Cookie", $0)] } ?? []
        if form != nil { headers.append(("Content-Type", "application/x-www-form-urlencoded")) }
        return try nginx.request(path, method: method, headers: headers, body: Array((form ?? "").utf8))
    }

    /// The `PHPSESSID=…` a response sets, if it sets one.
    func phpCookie(_ response: HTTPResponse) -> String? {
        response.values("Set-Cookie").first { $0.hasPrefix("PHPSESSID=") && !$0.hasPrefix("PHPSESSID=deleted") }
            .map { String($0.prefix { $0 != ";" }) }
    }

    @Test(arguments: ["php", "php_serialize"], Store.allCases)
    func oneLoginOneCartOneLogoutOnBothSides(handler: String, store: Store) throws {
        let (php, demo, nginx, redis) = try site(handler: handler, store: store)
        let login = try request(nginx, "/login.php", method: "POST", form: "user=ann")
        #expect(login.text == "user: ann\n")
        let cookie = try #require(phpCookie(login))
        // A Swift page sees PHP's login; the PHP object beside it is not shown, and not harmed.
        let json = try request(nginx, "/session.json", cookie: cookie).text
        #expect(json.contains("\"user\":\"ann\"") && json.contains("\"cart\":[]") && !json.contains("profile"), "\(json)")
        _ = try request(nginx, "/cart.php", method: "POST", cookie: cookie, form: "item=apple")
        #expect(try request(nginx, "/incr?key=visits", method: "POST", cookie: cookie).text == "1\n")
        _ = try request(nginx, "/cart.php", method: "POST", cookie: cookie, form: "item=pear")
        #expect(try request(nginx, "/cart.php", cookie: cookie).text == "user: ann\nprofile: ann\ncart: apple,pear\nvisits: 1\n")
        #expect(try request(nginx, "/session.json", cookie: cookie).text.contains("\"cart\":[\"apple\",\"pear\"]"))
        // The session is PHP's: its file's mode, name and format, or phpredis's key.
        let id = String(cookie.dropFirst("PHPSESSID=".count))
        let file = sessions + "/sess_" + id
        if let redis {
            #expect(try redis.cli("GET", "PHPREDIS_SESSION:\(id)").contains("O:7:\"Profile\""))
            #expect(try redis.cli("EXISTS", "PHPREDIS_SESSION:\(id)_LOCK") == "0", "every lock released")
        } else {
            let mode = try #require(try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? Int)
            #expect(mode == 0o600)
            #expect(try String(contentsOfFile: file, encoding: .utf8).contains("O:7:\"Profile\""))
        }
        // Logging out on PHP's side ends the session for Swift's.
        #expect(try request(nginx, "/logout.php", cookie: cookie).text == "logged out\n")
        #expect(try request(nginx, "/session.json", cookie: cookie).text == "{}\n")
        #expect(!FileManager.default.fileExists(atPath: file))
        if let redis { #expect(try redis.cli("EXISTS", "PHPREDIS_SESSION:\(id)") == "0") }
        // Logging out on Swift's side ends it for PHP's.
        let again = try #require(phpCookie(try request(nginx, "/login.php", method: "POST", form: "user=bob")))
        if let redis {
            let ttl = Int(try redis.cli("TTL", "PHPREDIS_SESSION:\(again.dropFirst("PHPSESSID=".count))")) ?? 0
            #expect((1400...1440).contains(ttl), "phpredis's TTL is session.gc_maxlifetime: \(ttl)")
        }
        let token = try #require(try request(nginx, "/", cookie: again).csrfToken)
        #expect(try request(nginx, "/logout", method: "POST", cookie: again, form: "csrf=\(token)").status == 303)
        #expect(try request(nginx, "/cart.php", cookie: again).text.hasPrefix("user: \n"))
        // A new session made by Swift has an id PHP accepts (strict mode would refuse another).
        let swift = try request(nginx, "/incr?key=n", method: "POST")
        let swiftCookie = try #require(phpCookie(swift))
        #expect(swiftCookie.count == "PHPSESSID=".count + 26)
        #expect(try request(nginx, "/count.php", cookie: swiftCookie).text == "2\n")
        withExtendedLifetime((php, demo, redis)) {}
    }

    /// Examples/migration as it is: its PHP pages and its Swift pages (`migration`) share one login.
    @Test func theWorkedExampleSharesOneLoginAndOneCart() throws {
        let (php, swift, nginx, _) = try site(example: true)
        #expect(try request(nginx, "/account").status == 403)
        let cookie = try #require(phpCookie(try request(nginx, "/login.php", method: "POST", form: "user=ann")))
        #expect(try request(nginx, "/account", cookie: cookie).text == "account of ann\ncart: \nvisits: 1\n")
        #expect(try request(nginx, "/cart?item=apple", method: "POST", cookie: cookie).text == "apple\n")
        _ = try request(nginx, "/cart.php", method: "POST", cookie: cookie, form: "item=pear")
        #expect(try request(nginx, "/cart.php", cookie: cookie).text == "user: ann\nprofile: ann\ncart: apple,pear\nvisits: 1\n")
        #expect(try request(nginx, "/account", cookie: cookie).text == "account of ann\ncart: apple,pear\nvisits: 2\n")
        #expect(try request(nginx, "/logout.php", cookie: cookie).text == "logged out\n")
        #expect(try request(nginx, "/account", cookie: cookie).status == 403)
        withExtendedLifetime((php, swift)) {}
    }

    /// PHP's lock and Swift's are one lock: 100 increments from each side at once end at 200.
    @Test(arguments: Store.allCases)
    func phpAndSwiftIncrementingOneKeyAtOnceLoseNothing(store: Store) throws {
        let (php, demo, nginx, redis) = try site(store: store)
        let cookie = try #require(phpCookie(try request(nginx, "/count.php")))
        let port = nginx.port
        let good = Results()
        DispatchQueue.concurrentPerform(iterations: 200) { index in
            let path = index % 2 == 0 ? "/count.php" : "/incr?key=n"
            let response = try? HTTPClient.request(port: port, method: "POST", path: path, headers: [("Cookie", cookie)])
            good.record(response?.status == 200)
        }
        #expect(good.good == 200)
        #expect(try request(nginx, "/count.php", cookie: cookie).text == "202\n")
        withExtendedLifetime((php, demo, redis)) {}
    }

    /// A read on a Swift page touches the file, so PHP's collection (by modification time)
    /// does not take a session used only on Swift pages.
    @Test func aSwiftPageThatOnlyReadsTouchesTheFile() throws {
        let (php, demo, nginx, _) = try site()
        let cookie = try #require(phpCookie(try request(nginx, "/login.php", method: "POST", form: "user=ann")))
        let file = sessions + "/sess_" + cookie.dropFirst("PHPSESSID=".count)
        // Ten minutes idle: within the idle timeout (24 minutes), old enough to see the touch.
        let tenMinutesAgo = Int(Date().timeIntervalSince1970) - 600
        var old = [timespec(tv_sec: tenMinutesAgo, tv_nsec: 0), timespec(tv_sec: tenMinutesAgo, tv_nsec: 0)]
        utimensat(AT_FDCWD, file, &old, 0)
        #expect(try request(nginx, "/session.json", cookie: cookie).text.contains("ann"))
        let modified = try #require(try FileManager.default.attributesOfItem(atPath: file)[.modificationDate] as? Date)
        #expect(Date().timeIntervalSince(modified) < 60)
        withExtendedLifetime((php, demo)) {}
    }
}
