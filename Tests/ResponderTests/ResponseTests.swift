@testable import FastCGI
import TestSupport
import Testing

@Suite struct ResponseTests {
    @Test func headersLeaveWithTheFirstBodyByte() throws {
        let transport = BufferTransport()
        let response = Response(transport: transport)
        response.status = 201
        try response.setHeader("X-A", "1")
        try response.addHeader("Set-Cookie", "a=1")
        try response.addHeader("Set-Cookie", "b=2")
        #expect(transport.output.isEmpty)
        try response.write("body")
        #expect(transport.text == "Status: 201 Created\r\nX-A: 1\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nbody")
        #expect(throws: ResponseError.headersAlreadySent) { try response.setHeader("X-B", "2") }
    }

    @Test func headerWithCRLFOrNULIsRefused() {
        let response = Response(transport: BufferTransport())
        #expect(throws: ResponseError.self) { try response.setHeader("X-A", "1\r\nSet-Cookie: evil=1") }
        #expect(throws: ResponseError.self) { try response.setHeader("X-A", "1\nX: y") }
        #expect(throws: ResponseError.self) { try response.addHeader("X-A", "a\0b") }
        #expect(throws: ResponseError.self) { try response.addHeader("X A", "1") }
        #expect(throws: ResponseError.self) { try response.addHeader("", "1") }
        #expect(response.headers.isEmpty)
    }

    @Test func setHeaderReplacesWhateverTheCase() throws {
        let response = Response(transport: BufferTransport())
        try response.setHeader("content-type", "text/html")
        try response.setHeader("Content-Type", "application/json")
        #expect(response.headers.fields == [.init(name: "Content-Type", value: "application/json")])
    }

    @Test func redirectSetsLocationAndStatus() throws {
        let transport = BufferTransport()
        let response = Response(transport: transport)
        try response.redirect(to: "/home")
        try response.finish()
        #expect(transport.text.hasPrefix("Status: 303 See Other\r\nLocation: /home\r\n"))
    }

    @Test func hooksRunBeforeTheHeadersLeave() throws {
        let transport = BufferTransport()
        let response = Response(transport: transport)
        response.beforeHeaders { try? response.setHeader("X-Late", "yes") }
        try response.write("x")
        #expect(transport.text.contains("X-Late: yes\r\n"))
    }

    @Test func writeToAGoneClientThrowsDisconnected() throws {
        let transport = BufferTransport()
        transport.failWritesAfter = 10
        let response = Response(transport: transport)
        #expect(throws: ResponseError.clientDisconnected) { try response.write(String(repeating: "x", count: 100)) }
        #expect(response.clientDisconnected)
    }

    @Test func thrownErrorBecomes500WithAGenericBodyAndALogLine() {
        struct Secret: Error {}
        let transport = BufferTransport()
        RequestCycle(transport: transport, parameters: ["REQUEST_METHOD": "GET", "REQUEST_URI": "/x"],
                     configuration: .init(), isCGI: false)
            .run(ClosureResponder { _, response in
                try response.setHeader("X-Never", "sent")
                throw Secret()
            })
        #expect(transport.text == "Status: 500 Internal Server Error\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nInternal Server Error\n")
        #expect(transport.errors == ["GET /x: Secret()"])
    }

    @Test func statusErrorsAnswerWithTheirStatus() {
        struct Missing: HTTPStatusError { var status: Int { 404 } }
        let transport = BufferTransport()
        RequestCycle(transport: transport, parameters: [:], configuration: .init(), isCGI: false)
            .run(ClosureResponder { _, _ in throw Missing() })
        #expect(transport.text.hasPrefix("Status: 404 Not Found\r\n"))
    }
}
