import Foundation

/// A real nginx from Debian's package, on a free loopback port, with its own prefix directory,
/// passing every request to a FastCGI upstream. Stopped when dropped.
package final class Nginx {
    package let port: UInt16
    private let child: ChildProcess
    private let directory: TemporaryDirectory

    /// Starts nginx in front of `upstream` (`unix:/path` or `127.0.0.1:9000`), mounted at the
    /// site's root. `extra` goes into the `server` block; `keepAlive` keeps that many idle
    /// connections to the upstream (`fastcgi_keep_conn on`).
    package convenience init(upstream: String, in directory: TemporaryDirectory, clientMaxBodySize: String = "64m", extra: String = "",
                     keepAlive: Int? = nil) throws {
        try self.init(upstreams: [upstream], in: directory, clientMaxBodySize: clientMaxBodySize, extra: extra, keepAlive: keepAlive)
    }

    /// Starts nginx with `locations` as its `server` block's content (a deploy file's), and
    /// `http` in its `http` block (an upstream's).
    package convenience init(locations: String, in directory: TemporaryDirectory, http: String = "") throws {
        try self.init(upstreams: [], in: directory, locations: locations, http: http)
    }

    /// Starts nginx in front of several upstreams, taken in turn.
    package init(upstreams: [String], in directory: TemporaryDirectory, clientMaxBodySize: String = "64m", extra: String = "",
         locations: String? = nil, keepAlive: Int? = nil, http: String = "") throws {
        self.directory = directory
        let prefix = directory.file("nginx")
        try FileManager.default.createDirectory(atPath: prefix + "/logs", withIntermediateDirectories: true)
        // A port free a moment ago may be taken before nginx binds it (another test's server, a
        // client's ephemeral port): then nginx stops at once, and another port is tried.
        var attempt = 0
        while true {
            attempt += 1
            let port = try freePort()
            try Self.configuration(port: port, prefix: prefix, upstreams: upstreams, clientMaxBodySize: clientMaxBodySize,
                                   extra: extra, locations: locations, keepAlive: keepAlive, http: http)
                .write(toFile: prefix + "/nginx.conf", atomically: true, encoding: .utf8)
            let child = try ChildProcess("/usr/sbin/nginx", ["-c", prefix + "/nginx.conf", "-p", prefix], in: directory,
                                         name: "nginx\(attempt)")
            let started = waitUntil {
                !child.isRunning || (try? HTTPClient.connect(port: port)).map { close($0); return true } ?? false
            }
            if started, child.isRunning, !Self.errorLog(prefix).contains("bind() to 127.0.0.1:\(port) failed") {
                self.port = port
                self.child = child
                return
            }
            child.signal(SIGQUIT)
            _ = child.waitForExit(seconds: 5)
            guard attempt < 3 else { throw TestFailure("nginx did not start: \(child.errorOutput) \(Self.errorLog(prefix))") }
        }
    }

    private static func configuration(port: UInt16, prefix: String, upstreams: [String], clientMaxBodySize: String, extra: String,
                                      locations: String?, keepAlive: Int?, http: String) -> String {
        """
        worker_processes 1;
        daemon off;
        user root root;
        pid \(prefix)/nginx.pid;
        error_log \(prefix)/logs/error.log info;
        events { worker_connections 1024; }
        http {
          access_log off;
          client_body_temp_path \(prefix)/body;
          fastcgi_temp_path \(prefix)/fastcgi;
          client_max_body_size \(clientMaxBodySize);
          \(http)
          \(upstreams.isEmpty ? "" : "upstream app { \(upstreams.map { "server \($0);" }.joined(separator: " ")) \(keepAlive.map { "keepalive \($0);" } ?? "") }")
          server {
            listen 127.0.0.1:\(port);
            \(locations ?? """
            location / {
              include /etc/nginx/fastcgi_params;
              fastcgi_param PATH_INFO $uri;
              fastcgi_param SCRIPT_NAME "";
              \(keepAlive == nil ? "" : "fastcgi_keep_conn on;")
              fastcgi_pass app;
            }
            """)
            \(extra)
          }
        }
        """
    }

    private static func errorLog(_ prefix: String) -> String {
        (try? String(contentsOfFile: prefix + "/logs/error.log", encoding: .utf8)) ?? ""
    }

    /// What nginx wrote to its error log, where FastCGI stderr lines land.
    package var errorLog: String {
        (try? String(contentsOfFile: directory.file("nginx/logs/error.log"), encoding: .utf8)) ?? ""
    }

    /// Sends one request through nginx.
    package func request(_ path: String, method: String = "GET", headers: [(String, String)] = [], body: [UInt8] = [])
        throws -> HTTPResponse {
        try HTTPClient.request(port: port, method: method, path: path, headers: headers, body: body)
    }

    deinit {
        child.signal(SIGQUIT)
        _ = child.waitForExit(seconds: 5)
    }
}
