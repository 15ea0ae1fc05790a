@testable import FastCGI
import Foundation
import TestSupport
import Testing

@Suite struct MultipartTests {
    static let boundary = "----obsession7MA4YWxk"

    static func body(_ parts: [(headers: String, content: [UInt8])], epilogue: String = "--\r\n") -> [UInt8] {
        var body: [UInt8] = Array("preamble to ignore\r\n".utf8)
        for part in parts {
            body += Array("--\(boundary)\r\n\(part.headers)\r\n\r\n".utf8) + part.content + Array("\r\n".utf8)
        }
        return body + Array("--\(boundary)\(epilogue)".utf8)
    }

    static func form(_ body: [UInt8], chunkSize: Int = 7, configuration: FastCGIServer.Configuration = .init())
        throws -> (Form, Request) {
        let transport = BufferTransport(body: body, chunkSize: chunkSize)
        let request = transport.request([
            "CONTENT_TYPE": "multipart/form-data; boundary=\(boundary)", "CONTENT_LENGTH": "\(body.count)",
        ], configuration: configuration)
        return (try request.form(), request)
    }

    @Test(arguments: [1, 3, 7, 100, 70000])
    func fieldsAndSmallFilesParseWhateverTheReadSize(chunkSize: Int) throws {
        let data: [UInt8] = Array("line one\r\n--almost-a-boundary\r\n\r\n".utf8) + [0, 255, 13, 10]
        let body = Self.body([
            ("Content-Disposition: form-data; name=\"user\"", Array("bob".utf8)),
            ("Content-Disposition: form-data; name=\"doc\"; filename=\"C:\\\\dir\\\\a \\\"b\\\".txt\"\r\nContent-Type: text/plain", data),
            ("Content-Disposition: form-data; name=\"empty\"", []),
        ])
        let (form, _) = try Self.form(body, chunkSize: chunkSize)
        #expect(form.fields.fields == [.init(name: "user", value: "bob"), .init(name: "empty", value: "")])
        let file = try #require(form.file(named: "doc"))
        #expect(file.filename == "a \"b\".txt")
        #expect(file.contentType == "text/plain")
        #expect(try file.contents() == data)
        guard case .memory = file.storage else { Issue.record("a small file should stay in memory"); return }
    }

    @Test func largeFileGoesToATemporaryFileRemovedAtTheEnd() throws {
        let data = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 7919 >> 3) }
        var configuration = FastCGIServer.Configuration()
        configuration.uploadMemoryLimit = 1000
        let (form, request) = try Self.form(
            Self.body([("Content-Disposition: form-data; name=\"big\"; filename=\"big.bin\"", data)]),
            chunkSize: 4096, configuration: configuration)
        let file = try #require(form.file(named: "big"))
        guard case .temporaryFile(let path) = file.storage else { Issue.record("expected a temporary file"); return }
        #expect(file.size == data.count)
        #expect(try file.contents() == data)
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        request.finish()
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    @Test func bodyWithoutClosingBoundaryIsMalformed() {
        var body = Self.body([("Content-Disposition: form-data; name=\"a\"", Array("x".utf8))])
        body.removeLast(("--" + Self.boundary + "--\r\n").utf8.count + 2)
        #expect(throws: RequestError.self) { try Self.form(body) }
    }

    @Test func partWithoutNameIsMalformed() {
        let body = Self.body([("Content-Disposition: form-data", Array("x".utf8))])
        #expect { try Self.form(body) } throws: { ($0 as? RequestError)?.status == 400 }
    }

    @Test func bodyWithoutBoundaryIsMalformed() {
        #expect(throws: RequestError.self) { try Self.form(Array("just text".utf8)) }
    }

    @Test func endlessPartHeadersAreRefused() {
        let body = Array("--\(Self.boundary)\r\nX: ".utf8) + [UInt8](repeating: 65, count: 40_000)
        #expect { try Self.form(body) } throws: { ($0 as? RequestError)?.status == 400 }
    }

    @Test func bodyOverTheLimitIsRefusedWith413() {
        var configuration = FastCGIServer.Configuration()
        configuration.maxBodySize = 100
        let body = Self.body([("Content-Disposition: form-data; name=\"a\"", [UInt8](repeating: 1, count: 500))])
        #expect { try Self.form(body, configuration: configuration) } throws: { ($0 as? RequestError)?.status == 413 }
    }

    @Test func boundaryIsReadFromTheContentType() {
        #expect(MultipartParser.boundary(inContentType: "multipart/form-data; boundary=abc") == "abc")
        #expect(MultipartParser.boundary(inContentType: "Multipart/Form-Data; charset=utf-8; boundary=\"a b\"") == "a b")
        #expect(MultipartParser.boundary(inContentType: "multipart/form-data") == nil)
        #expect(MultipartParser.boundary(inContentType: "text/plain; boundary=abc") == nil)
    }
}
