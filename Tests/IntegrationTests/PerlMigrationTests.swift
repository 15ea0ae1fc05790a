import FastCGI
import Foundation
import TestSupport
import Testing

/// A Perl CGI script with CGI::Session (Debian's libcgi-session-perl, run by fcgiwrap) and
/// Swift pages (the demo with --perl-sessions) behind one nginx, sharing CGI::Session's files.
@Suite(.serialized, .requires("/usr/sbin/nginx", "/usr/sbin/fcgiwrap", "/usr/bin/perl"))
struct PerlMigrationTests {
    let directory: TemporaryDirectory
    let sessions: String

    init() throws {
        directory = try TemporaryDirectory()
        sessions = directory.file("cgi-sessions")
        try FileManager.default.createDirectory(atPath: sessions, withIntermediateDirectories: true)
    }

    func site(serializer: String) throws -> (fcgiwrap: ChildProcess, demo: ChildProcess, nginx: Nginx) {
        let wrapper = directory.file("fcgiwrap.sock")
        let fcgiwrap = try ChildProcess("/usr/sbin/fcgiwrap", ["-s", "unix:\(wrapper)"], in: directory, name: "fcgiwrap")
        guard waitUntilAccepting("unix:\(wrapper)") else { throw TestFailure("fcgiwrap did not start: \(fcgiwrap.errorOutput)") }
        let demo = try ChildProcess.demo(listening: "unix:" + directory.file("demo.sock"), sessions: directory.file("unused"),
                                         arguments: ["--perl-sessions", sessions, "--perl-serializer", serializer,
                                                     "--cookie-name", "CGISESSID", "--cookie-secure", "off", "--workers", "4"],
                                         in: directory)
        let script = TestEnvironment.packageRoot.appendingPathComponent("Examples/migration/perl/session.pl").path
        let nginx = try Nginx(locations: """
            location = /session.pl {
              include /etc/nginx/fastcgi_params;
              fastcgi_param SCRIPT_FILENAME \(script);
              fastcgi_param CGI_SESSION_DIR \(sessions);
              fastcgi_param CGI_SESSION_SERIALIZER \(serializer == "json" ? "json" : "default");
              fastcgi_pass unix:\(wrapper);
            }
            location / {
              include /etc/nginx/fastcgi_params;
              fastcgi_param SCRIPT_NAME "";
              fastcgi_param PATH_INFO $uri;
              fastcgi_pass unix:\(directory.file("demo.sock"));
            }
            """, in: directory)
        return (fcgiwrap, demo, nginx)
    }

    func get(_ nginx: Nginx, _ path: String, cookie: String? = nil, method: String = "GET") throws -> HTTPResponse {
        try nginx.request(path, method: method, headers: cookie.map { [("Cookie", $0)] } ?? [])
    }

    func perlCookie(_ response: HTTPResponse) -> String? {
        response.values("Set-Cookie").first { $0.hasPrefix("CGISESSID=") }.map { String($0.prefix { $0 != ";" }) }
    }

    @Test func oneLoginOneCartOneLogoutOnBothSides() throws {
        let (fcgiwrap, demo, nginx) = try site(serializer: "default")
        defer { fcgiwrap.signal(SIGTERM) }
        let login = try get(nginx, "/session.pl?do=login&user=ann")
        #expect(login.text.hasPrefix("user: ann\nprofile: Profile ann\n"), "\(login.text)")
        let cookie = try #require(perlCookie(login))
        let json = try get(nginx, "/session.json", cookie: cookie).text
        #expect(json.contains("\"user\":\"ann\"") && json.contains("\"cart\":[]") && !json.contains("_SESSION"), "\(json)")
        _ = try get(nginx, "/session.pl?do=cart&item=apple", cookie: cookie)
        #expect(try get(nginx, "/incr?key=visits", cookie: cookie, method: "POST").text == "1\n")
        _ = try get(nginx, "/session.pl?do=cart&item=pear%27s%5C", cookie: cookie)
        let shown = try get(nginx, "/session.pl", cookie: cookie).text
        #expect(shown == "user: ann\nprofile: Profile ann\ncart: apple,pear's\\\nvisits: 1\nn: 0\n", "\(shown)")
        #expect(try get(nginx, "/session.json", cookie: cookie).text.contains(#""cart":["apple","pear's\\"]"#))
        // CGI::Session's own keys are kept and renewed; the object is still Perl's.
        let id = String(cookie.dropFirst("CGISESSID=".count))
        let file = try String(contentsOfFile: sessions + "/cgisess_" + id, encoding: .utf8)
        #expect(file.contains("'_SESSION_ID' => '\(id)'") && file.contains("_SESSION_CTIME") && file.contains("bless( {"))
        #expect(try get(nginx, "/session.pl?do=logout", cookie: cookie).text == "logged out\n")
        #expect(try get(nginx, "/session.json", cookie: cookie).text == "{}\n")
        // A session Swift makes is one CGI::Session loads.
        let made = try get(nginx, "/incr?key=n", method: "POST")
        let swiftCookie = try #require(perlCookie(made))
        #expect(try get(nginx, "/session.pl?do=count", cookie: swiftCookie).text.hasSuffix("n: 2\n"))
        withExtendedLifetime(demo) {}
    }

    /// Perl's own values, each written by CGI::Session and read by Swift, written back by Swift
    /// and read by CGI::Session, compared by Perl itself.
    @Test(.requires("/usr/bin/perl")) func valuesRoundTripBothWays() throws {
        let (fcgiwrap, demo, nginx) = try site(serializer: "default")
        defer { fcgiwrap.signal(SIGTERM) }
        try """
        use strict; use warnings; use CGI::Session; use Data::Dumper; $Data::Dumper::Sortkeys = 1; $Data::Dumper::Indent = 0;
        my %values = (s => "it's a \\\\ test", e => '', u => undef, i => 42, neg => -7, big => 12345678901, f => 1.5,
            list => [1, 'two', [3]], map => {a => 1, 'b c' => [undef]}, uni => "caf\\x{e9}", nl => "a\\nb");
        my $mode = shift;
        my $s = CGI::Session->new("driver:file", shift, { Directory => '\(sessions)' }) or die CGI::Session->errstr;
        if ($mode eq 'write') { $s->param($_, $values{$_}) for keys %values; print $s->id; }
        else { for my $k (sort keys %values) { my $d = Dumper($s->param($k)); my $w = Dumper($values{$k});
            print "$k differs: $d vs $w\\n" if $d ne $w; } print "checked\\n"; }
        $s->flush;
        """.write(toFile: directory.file("values.pl"), atomically: false, encoding: .utf8)
        let writer = try ChildProcess("/usr/bin/perl", [directory.file("values.pl"), "write", ""], in: directory, name: "perl-write")
        #expect(writer.waitForExit() == 0, "\(writer.errorOutput)")
        let cookie = "CGISESSID=\(writer.output)"
        let json = try get(nginx, "/session.json", cookie: cookie).text
        #expect(json.contains(#""s":"it's a \\ test""#) && json.contains(#""big":"12345678901""#) && json.contains(#""i":42"#), "\(json)")
        // Swift changes one key; Perl finds every other as it wrote it, and the new one.
        #expect(try get(nginx, "/incr?key=visits", cookie: cookie, method: "POST").text == "1\n")
        let checker = try ChildProcess("/usr/bin/perl", [directory.file("values.pl"), "check", writer.output], in: directory, name: "perl-check")
        #expect(checker.waitForExit() == 0, "\(checker.errorOutput)")
        #expect(checker.output == "checked\n")
        withExtendedLifetime(demo) {}
    }
}
