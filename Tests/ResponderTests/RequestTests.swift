@testable import FastCGI
import Glibc
import TestSupport
import Testing

extension CGIParameters {
    /// Parameters as a web server sends them, `NAME=VALUE` strings in order, repeats kept.
    init(copyingForTest pairs: [String]) {
        let strings = pairs.map { strdup($0) } + [nil]
        defer { strings.forEach { free($0) } }
        var pointers = strings
        self = pointers.withUnsafeMutableBufferPointer { CGIParameters(copying: $0.baseAddress!) }
    }
}

@Suite struct RequestTests {
    @Test func pathJoinsScriptNameAndPathInfo() {
        let transport = BufferTransport()
        #expect(transport.request(["SCRIPT_NAME": "/app", "PATH_INFO": "/users/1"]).path == "/app/users/1")
        #expect(transport.request(["SCRIPT_NAME": "", "PATH_INFO": "", "REQUEST_URI": "/x/y?z=1"]).path == "/x/y")
    }

    @Test func repeatedParameterReadsAsTheLastOneSent() {
        let nginxStyle = CGIParameters(copyingForTest: ["SCRIPT_NAME=/a/b", "PATH_INFO=/a/b", "SCRIPT_NAME="])
        #expect(nginxStyle["SCRIPT_NAME"] == "")
        #expect(BufferTransport().request(nginxStyle).path == "/a/b")
    }

    @Test func headersComeFromHTTPParameters() {
        let request = BufferTransport().request([
            "HTTP_USER_AGENT": "curl/8", "HTTP_X_FORWARDED_FOR": "10.0.0.1", "CONTENT_TYPE": "text/plain",
            "CONTENT_LENGTH": "", "REMOTE_ADDR": "127.0.0.1",
        ])
        #expect(request.header("user-agent") == "curl/8")
        #expect(request.header("Content-Type") == "text/plain")
        #expect(request.headers.fields == [
            .init(name: "Content-Type", value: "text/plain"), .init(name: "User-Agent", value: "curl/8"),
            .init(name: "X-Forwarded-For", value: "10.0.0.1"),
        ])
        #expect(request.remoteAddress == "127.0.0.1")
    }

    @Test func httpsComesFromTheServerNotTheClient() {
        let transport = BufferTransport()
        #expect(transport.request(["HTTPS": "on"]).isSecure)
        #expect(transport.request(["REQUEST_SCHEME": "https"]).isSecure)
        #expect(!transport.request(["HTTPS": "off"]).isSecure)
        #expect(!transport.request(["HTTP_X_FORWARDED_PROTO": "https"]).isSecure)
        var trusting = FastCGIServer.Configuration()
        trusting.trustForwardedProto = true
        #expect(transport.request(["HTTP_X_FORWARDED_PROTO": "https"], configuration: trusting).isSecure)
    }

    @Test func bodyStopsAtContentLength() throws {
        let transport = BufferTransport(body: Array("hello, and more".utf8))
        #expect(try transport.request(["CONTENT_LENGTH": "5"]).body() == Array("hello".utf8))
    }

    @Test func bodyOverTheLimitIsRefusedBeforeReading() {
        var configuration = FastCGIServer.Configuration()
        configuration.maxBodySize = 10
        let declared = BufferTransport(body: [UInt8](repeating: 1, count: 50))
        let request = declared.request(["CONTENT_LENGTH": "50"], configuration: configuration)
        #expect(request.isDeclaredTooLarge)
        #expect(throws: RequestError.bodyTooLarge(limit: 10)) { try request.body() }
        let undeclared = BufferTransport(body: [UInt8](repeating: 1, count: 50))
        #expect(throws: RequestError.bodyTooLarge(limit: 10)) {
            try undeclared.request([:], configuration: configuration).body()
        }
    }

    @Test func bodyShorterThanContentLengthIsMalformed() {
        let transport = BufferTransport(body: Array("abc".utf8))
        #expect { try transport.request(["CONTENT_LENGTH": "10"]).body() } throws: { ($0 as? RequestError)?.status == 400 }
    }

    @Test func urlencodedFormIsParsed() throws {
        let body = Array("user=bob&note=a+b%21".utf8)
        let request = BufferTransport(body: body).request([
            "CONTENT_TYPE": "application/x-www-form-urlencoded; charset=UTF-8", "CONTENT_LENGTH": "\(body.count)",
        ])
        let form = try request.form()
        #expect(form.fields["user"] == "bob")
        #expect(form.fields["note"] == "a b!")
        #expect(try request.form().fields == form.fields)
    }

    @Test func queryIsDecoded() {
        let request = BufferTransport().request(["QUERY_STRING": "a=1&b=x%20y&a=2"])
        #expect(request.query.values(for: "a") == ["1", "2"])
        #expect(request.query["b"] == "x y")
    }
}
