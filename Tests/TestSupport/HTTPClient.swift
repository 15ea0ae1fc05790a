import Foundation

/// An HTTP response as received.
package struct HTTPResponse {
    package let status: Int
    package let headers: [(name: String, value: String)]
    package let body: [UInt8]

    package var text: String { String(decoding: body, as: UTF8.self) }

    /// Every value of a header, by name in any case.
    package func values(_ name: String) -> [String] {
        headers.filter { $0.name.lowercased() == name.lowercased() }.map(\.value)
    }

    package func header(_ name: String) -> String? { values(name).first }
}

/// A small HTTP/1.1 client over a real TCP socket: one request per connection.
package enum HTTPClient {
    /// A connected socket; `receiveBuffer` sets SO_RCVBUF before connecting (it sizes the window).
    package static func connect(port: UInt16, host: String = "127.0.0.1", receiveBuffer: Int32? = nil) throws -> Int32 {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        if var size = receiveBuffer { setsockopt(descriptor, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size)) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr(host)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
        guard connected else {
            close(descriptor)
            throw POSIXError(.ECONNREFUSED)
        }
        var timeout = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        return descriptor
    }

    /// Sends one request on a connection of its own and reads the whole answer. A GET or HEAD
    /// whose connection is reset before a byte of the answer came is sent once more, and says
    /// so: under the sanitizers' load a reset from nginx has been seen, rarely, on requests that
    /// only read state, and what those tests check is the state, not the transport.
    package static func request(port: UInt16, method: String, path: String, headers: [(String, String)] = [],
                        body: [UInt8] = []) throws -> HTTPResponse {
        var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        if !body.isEmpty || method == "POST" { head += "Content-Length: \(body.count)\r\n" }
        head += "\r\n"
        let retried = ["GET", "HEAD"].contains(method)
        for attempt in 1...2 {
            let descriptor = try connect(port: port)
            defer { close(descriptor) }
            try sendAll(descriptor, Array(head.utf8) + body)
            var received: [UInt8] = []
            do {
                try readAll(descriptor, into: &received)
                return try parse(received)
            } catch let error as POSIXError where error.code == .ECONNRESET && received.isEmpty && retried && attempt == 1 {
                print("\(method) \(path) on port \(port): connection reset before any answer; sending it once more")
            }
        }
        preconditionFailure("unreachable: the second attempt returns or throws")
    }

    package static func sendAll(_ descriptor: Int32, _ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if sent < 0, errno == EINTR { continue }
            guard sent > 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EPIPE) }
            offset += sent
        }
    }

    package static func readAll(_ descriptor: Int32) throws -> [UInt8] {
        var received: [UInt8] = []
        try readAll(descriptor, into: &received)
        return received
    }

    /// Reads until the peer closes, appending to `received` (what came before an error stays there).
    package static func readAll(_ descriptor: Int32, into received: inout [UInt8]) throws {
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = recv(descriptor, &chunk, chunk.count, 0)
            if count == 0 { return }
            // A signal (another test's child ending) interrupts a wait; it is not an error.
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
            received += chunk[..<count]
        }
    }

    /// Parses a whole response, undoing chunked transfer coding.
    package static func parse(_ bytes: [UInt8]) throws -> HTTPResponse {
        let separator: [UInt8] = [13, 10, 13, 10]
        guard let end = bytes.firstRange(of: separator) else { throw TestFailure("no end of headers in \(String(decoding: bytes, as: UTF8.self))") }
        let lines = String(decoding: bytes[..<end.lowerBound], as: UTF8.self).components(separatedBy: "\r\n")
        let statusWords = lines[0].split(separator: " ")
        guard statusWords.count >= 2, let status = Int(statusWords[1]) else { throw TestFailure("bad status line \(lines[0])") }
        let headers = lines.dropFirst().compactMap { line -> (String, String)? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        var body = Array(bytes[end.upperBound...])
        if headers.contains(where: { $0.0.lowercased() == "transfer-encoding" && $0.1.lowercased() == "chunked" }) {
            var decoded: [UInt8] = []
            var rest = body[...]
            while let lineEnd = rest.firstRange(of: [13, 10]),
                  let size = Int(String(decoding: rest[..<lineEnd.lowerBound], as: UTF8.self), radix: 16), size > 0 {
                decoded += rest[lineEnd.upperBound..<(lineEnd.upperBound + size)]
                rest = rest[(lineEnd.upperBound + size + 2)...]
            }
            body = decoded
        }
        return HTTPResponse(status: status, headers: headers.map { (name: $0.0, value: $0.1) }, body: body)
    }
}
