import Foundation

/// A raw FastCGI client (the web server's side of the protocol) for tests that need what a web
/// server never does: a request that stalls, one cut short, or one sent in pieces.
package struct FastCGIClient {
    package let descriptor: Int32

    /// Connects to a Unix socket.
    package init(unixPath: String) throws {
        descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        let descriptor = descriptor
        let connected = withUnixSocketAddress(unixPath) { connect(descriptor, $0, $1) == 0 }
        guard connected else { throw POSIXError(.ECONNREFUSED) }
        var timeout = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Connects to a TCP port on loopback (with HTTPClient's receive timeout), with a receive
    /// buffer of `receiveBuffer` bytes if given.
    package init(port: UInt16, receiveBuffer: Int32? = nil) throws {
        descriptor = try HTTPClient.connect(port: port, receiveBuffer: receiveBuffer)
    }

    /// One record: version 1, `type`, request id 1, `content`.
    package static func record(_ type: UInt8, _ content: [UInt8]) -> [UInt8] {
        [1, type, 0, 1, UInt8(content.count >> 8), UInt8(content.count & 0xFF), 0, 0] + content
    }

    /// BEGIN_REQUEST (responder, no keep-alive) and the PARAMS stream, ended.
    package static func begin(_ parameters: [String: String]) -> [UInt8] {
        var encoded: [UInt8] = []
        for (name, value) in parameters {
            for length in [name.utf8.count, value.utf8.count] {
                if length < 128 {
                    encoded.append(UInt8(length))
                } else {
                    encoded += [UInt8(length >> 24) | 0x80, UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF)]
                }
            }
            encoded += Array(name.utf8) + Array(value.utf8)
        }
        // A record holds at most 65,535 bytes: longer parameters continue in the next ones.
        let records = stride(from: 0, to: encoded.count, by: 65535).map { record(4, Array(encoded[$0..<min($0 + 65535, encoded.count)])) }
        return record(1, [0, 1, 0, 0, 0, 0, 0, 0]) + records.joined() + record(4, [])
    }

    /// A STDIN record; empty content ends the body.
    package static func stdin(_ bytes: [UInt8]) -> [UInt8] { record(5, bytes) }

    package func send(_ bytes: [UInt8]) throws { try HTTPClient.sendAll(descriptor, bytes) }

    /// Reads records until END_REQUEST or the connection closes; returns the STDOUT bytes.
    package func readStdout() throws -> [UInt8] {
        let bytes = try HTTPClient.readAll(descriptor)
        var output: [UInt8] = []
        var offset = 0
        while offset + 8 <= bytes.count {
            let type = bytes[offset + 1]
            let length = Int(bytes[offset + 4]) << 8 | Int(bytes[offset + 5])
            let padding = Int(bytes[offset + 6])
            if type == 6 { output += bytes[(offset + 8)..<(offset + 8 + length)] }
            offset += 8 + length + padding
        }
        return output
    }

    package func close() { Glibc.close(descriptor) }
}
