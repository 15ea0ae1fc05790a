import Foundation

/// A real php-fpm 8.2 from Debian's package, one static pool of `children` on a Unix socket in
/// the test's directory, with `settings` as `php_admin_value`s (the session's save path,
/// handler and id settings). Runs as the test's user, as the Swift program does, so that both
/// own the session files. Stopped when dropped.
package final class PHPFPM {
    package static let executable = "/usr/sbin/php-fpm8.2"
    package let socket: String
    private let child: ChildProcess

    package init(in directory: TemporaryDirectory, settings: [String: String], children: Int = 4) throws {
        socket = directory.file("php-fpm.sock")
        let values = settings.sorted { $0.key < $1.key }.map { "php_admin_value[\($0.key)] = \($0.value)" }
        try ([
            "[global]", "pid = \(directory.file("php-fpm.pid"))", "error_log = \(directory.file("php-fpm.log"))", "daemonize = no",
            "[site]", "listen = \(socket)", "listen.mode = 0666", "pm = static", "pm.max_children = \(children)",
            "catch_workers_output = yes",
        ] + values).joined(separator: "\n").write(toFile: directory.file("php-fpm.conf"), atomically: false, encoding: .utf8)
        child = try ChildProcess(Self.executable, ["-y", directory.file("php-fpm.conf"), "-F", "-R"], in: directory, name: "php-fpm")
        guard waitUntilAccepting("unix:\(socket)") else {
            throw TestFailure("php-fpm did not start: \(child.errorOutput) \((try? String(contentsOfFile: directory.file("php-fpm.log"), encoding: .utf8)) ?? "")")
        }
    }

    deinit {
        child.signal(SIGQUIT)
        _ = child.waitForExit(seconds: 5)
    }
}
