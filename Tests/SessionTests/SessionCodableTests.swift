@testable import Obsession
import TestSupport
import Testing

@Suite struct SessionCodableTests {
    struct Cart: Codable, Equatable {
        enum Status: String, Codable { case open, paid }
        struct Line: Codable, Equatable { var sku: String; var quantity: UInt8 }
        var lines: [Line]
        var status: Status
        var coupon: String?
        var discounts: [String: Double]
        var flags: Set<Int>
        var shipping: Shipping
    }

    enum Shipping: Codable, Equatable {
        case pickup
        case courier(name: String, days: Int)
    }

    let cart = Cart(lines: [.init(sku: "tea", quantity: 2), .init(sku: "pot", quantity: 1)], status: .open,
                    coupon: nil, discounts: ["member": 0.1], flags: [3], shipping: .courier(name: "fast", days: 2))

    @Test func applicationTypesRoundTripThroughTheSession() throws {
        let clock = TestClock()
        let backend = MemoryBackend()
        let cart = self.cart
        let first = exchange(SessionMiddleware(backend: backend, clock: clock) { request, _ in
            try request.session().set(cart, forKey: "cart")
        })
        let cookie = "_obs=\(try #require(first.sessionCookie()))"
        let second = exchange(SessionMiddleware(backend: backend, clock: clock) { request, response in
            let loaded = try request.session().get(Cart.self, forKey: "cart")
            try response.write(loaded == cart ? "same" : "different: \(String(describing: loaded))")
        }, cookie: cookie)
        #expect(second.text == "same")
    }

    @Test func encodedFormIsPlainJSON() throws {
        let value = try SessionValueEncoder.encode(cart)
        #expect(value["lines"]?[0] == ["sku": "tea", "quantity": 2])
        #expect(value["status"] == "open")
        #expect(value["coupon"] == nil)
        #expect(value["discounts"] == ["member": 0.1])
    }

    @Test func wrongShapeIsACodingError() throws {
        #expect { try SessionValueDecoder.decode(Cart.self, from: ["lines": "nope"]) } throws: {
            guard case .coding = $0 as? SessionError else { return false }
            return true
        }
        #expect(throws: SessionError.self) { try SessionValueDecoder.decode(UInt8.self, from: 300) }
        #expect(throws: SessionError.self) { try SessionValueEncoder.encode(UInt64.max) }
    }
}
