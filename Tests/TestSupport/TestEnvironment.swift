import Foundation

/// Where the built programs and the package are.
package enum TestEnvironment {
    /// The package's root directory.
    package static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The directory holding the built executables: `OBSESSION_BIN_DIR` (set by `make test`),
    /// else the debug build directory.
    package static let binDirectory: URL = {
        if let path = ProcessInfo.processInfo.environment["OBSESSION_BIN_DIR"] { return URL(fileURLWithPath: path) }
        return packageRoot.appendingPathComponent(".build/debug")
    }()

    /// Where `make install` put the package for the script tests: `OBSESSION_INSTALL_DIR` (set
    /// by `make test`), else `.build/install-test`.
    package static let installDirectory: String = ProcessInfo.processInfo.environment["OBSESSION_INSTALL_DIR"]
        ?? packageRoot.appendingPathComponent(".build/install-test").path

    /// A built executable of this package, by product name.
    package static func executable(_ name: String) -> String {
        binDirectory.appendingPathComponent(name).path
    }
}

/// A directory under /tmp, removed when the value is dropped.
package final class TemporaryDirectory {
    package let path: String

    package init() throws {
        var template = Array("/tmp/obsession-test-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        path = String(cString: made)
    }

    package func file(_ name: String) -> String { path + "/" + name }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
package func freePort() throws -> UInt16 {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(descriptor) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            bind(descriptor, $0, length) == 0 && getsockname(descriptor, $0, &length) == 0
        }
    }
    guard bound else { throw POSIXError(.EADDRINUSE) }
    return UInt16(bigEndian: address.sin_port)
}

/// Waits until `condition` holds, checking every 20 ms, for at most `seconds`.
package func waitUntil(seconds: Double = 10, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if condition() { return true }
        usleep(20_000)
    }
    return condition()
}

/// Waits until a server accepts connections at `address` (`unix:PATH` or `HOST:PORT` on IPv4),
/// for at most `seconds`: how a test knows a server it started is ready, whatever it logs.
package func waitUntilAccepting(_ address: String, seconds: Double = 10) -> Bool {
    waitUntil(seconds: seconds) {
        let unix = address.hasPrefix("unix:")
        let descriptor = socket(unix ? AF_UNIX : AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(descriptor) }
        if unix { return withUnixSocketAddress(String(address.dropFirst(5))) { connect(descriptor, $0, $1) == 0 } }
        guard let colon = address.lastIndex(of: ":"), let port = UInt16(address[address.index(after: colon)...]) else { return false }
        return (try? HTTPClient.connect(port: port, host: String(address[..<colon]))).map { close($0); return true } ?? false
    }
}
