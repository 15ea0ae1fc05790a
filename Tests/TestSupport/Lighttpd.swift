import Foundation

/// A real lighttpd from Debian's package on a free loopback port, serving `www` of the test's
/// directory with `snippet` (a deploy file) included. Stopped when dropped.
package final class Lighttpd {
    package let port: UInt16
    private let child: ChildProcess

    package init(including snippet: String, in directory: TemporaryDirectory) throws {
        port = try freePort()
        try FileManager.default.createDirectory(atPath: directory.file("www"), withIntermediateDirectories: true)
        try snippet.write(toFile: directory.file("snippet.conf"), atomically: false, encoding: .utf8)
        try """
        server.document-root = "\(directory.file("www"))"
        server.bind = "127.0.0.1"
        server.port = \(port)
        server.errorlog = "\(directory.file("lighttpd-error.log"))"
        include "\(directory.file("snippet.conf"))"
        """.write(toFile: directory.file("lighttpd.conf"), atomically: false, encoding: .utf8)
        child = try ChildProcess("/usr/sbin/lighttpd", ["-D", "-f", directory.file("lighttpd.conf")], in: directory, name: "lighttpd")
        guard waitUntilAccepting("127.0.0.1:\(port)") else {
            throw TestFailure("lighttpd did not start: \(child.errorOutput)")
        }
    }

    deinit {
        child.signal(SIGTERM)
        _ = child.waitForExit(seconds: 5)
    }
}
