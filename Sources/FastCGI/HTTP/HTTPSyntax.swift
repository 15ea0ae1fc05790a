/// The pieces of HTTP grammar the response checks against (RFC 9110).
enum HTTPSyntax {
    /// tchar: the characters of a token, such as a header or cookie name.
    static func isTokenByte(_ byte: UInt8) -> Bool {
        tokenBytes[Int(byte)]
    }

    /// Which of the 256 byte values are tchar.
    private static let tokenBytes: [Bool] = (0..<256).map { value in
        let byte = UInt8(value)
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return "!#$%&'*+-.^_`|~".utf8.contains(byte)
        }
    }

    /// Whether two header names are equal, ignoring ASCII case, without making new strings.
    static func namesEqual(_ first: String, _ second: String) -> Bool {
        first.utf8.count == second.utf8.count && first.withUTF8Bytes { first in
            second.withUTF8Bytes { second in first.elementsEqual(second) { lowercase($0) == lowercase($1) } }
        }
    }

    private static func lowercase(_ byte: UInt8) -> UInt8 {
        (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte | 0x20 : byte
    }

    /// `Status: 200 OK\r\n`, the CGI status line, made once for the common statuses.
    static func statusLine(_ status: Int) -> [UInt8] {
        if status == 200 { return okStatusLine }
        return Array("Status: \(status) \(reasonPhrase(status))\r\n".utf8)
    }

    private static let okStatusLine = Array("Status: 200 OK\r\n".utf8)

    /// Whether a header value is safe to send: no CR, LF or NUL, which would split or cut the
    /// response.
    static func isSafeHeaderValue(_ value: String) -> Bool {
        !value.withUTF8Bytes { $0.contains { $0 == 13 || $0 == 10 || $0 == 0 } }
    }

    /// The reason phrase for a status code, for the CGI `Status:` line.
    static func reasonPhrase(_ status: Int) -> String {
        switch status {
        case 200: "OK"
        case 201: "Created"
        case 202: "Accepted"
        case 204: "No Content"
        case 206: "Partial Content"
        case 301: "Moved Permanently"
        case 302: "Found"
        case 303: "See Other"
        case 304: "Not Modified"
        case 307: "Temporary Redirect"
        case 308: "Permanent Redirect"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 408: "Request Timeout"
        case 409: "Conflict"
        case 410: "Gone"
        case 413: "Content Too Large"
        case 415: "Unsupported Media Type"
        case 422: "Unprocessable Content"
        case 429: "Too Many Requests"
        case 500: "Internal Server Error"
        case 501: "Not Implemented"
        case 502: "Bad Gateway"
        case 503: "Service Unavailable"
        case 504: "Gateway Timeout"
        default: "Status \(status)"
        }
    }
}
