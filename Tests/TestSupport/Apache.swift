import Foundation

/// A real Apache httpd from Debian's package on a free loopback port, with its own server root,
/// the modules named and `body` in its configuration. Stopped when dropped.
package final class Apache {
    package let port: UInt16
    private let child: ChildProcess
    private let root: String

    /// Starts Apache with `environment` added to the test's own (its CGI programs get PATH from it).
    package init(modules: [String], body: String, in directory: TemporaryDirectory, environment: [String: String] = [:]) throws {
        port = try freePort()
        root = directory.file("apache")
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let loads = (["mpm_event", "authz_core"] + modules)
            .map { "LoadModule \($0)_module /usr/lib/apache2/modules/mod_\($0).so" }.joined(separator: "\n")
        try """
        ServerRoot \(root)
        ServerName 127.0.0.1
        Listen 127.0.0.1:\(port)
        PidFile \(root)/httpd.pid
        ErrorLog \(root)/error.log
        LogLevel warn
        User daemon
        Group daemon
        \(loads)
        <IfModule cgid_module>
        ScriptSock \(root)/cgid.sock
        </IfModule>
        \(body)
        """.write(toFile: root + "/httpd.conf", atomically: false, encoding: .utf8)
        child = try ChildProcess("/usr/sbin/apache2", ["-f", root + "/httpd.conf", "-DFOREGROUND"], in: directory, name: "apache",
                                 environment: environment)
        let port = port
        guard waitUntil({ (try? HTTPClient.connect(port: port)).map { close($0); return true } ?? false }) else {
            throw TestFailure("apache did not start: \(child.errorOutput) \(errorLog)")
        }
        // mod_cgid's daemon starts beside the listener: until its socket (named with the
        // daemon's pid after it) is there, a CGI request gets 503 (seen in CI on a loaded machine).
        let root = root
        guard !modules.contains("cgid") || waitUntil({
            ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).contains { $0.hasPrefix("cgid.sock") }
        }) else {
            throw TestFailure("apache's CGI daemon did not start: \(errorLog)")
        }
    }

    package var errorLog: String { (try? String(contentsOfFile: root + "/error.log", encoding: .utf8)) ?? "" }

    deinit {
        child.signal(SIGTERM)
        _ = child.waitForExit(seconds: 10)
    }
}
