@testable import FastCGI
import TestSupport
import Testing

@Suite struct CookieHeaderTests {
    @Test func pairsKeepTheirOrderAndRepeats() {
        let cookies = CookieHeader.parse("a=1; b=2; a=3")
        #expect(cookies.map(\.name) == ["a", "b", "a"])
        #expect(cookies["a"] == "1")
        #expect(cookies.values(for: "a") == ["1", "3"])
    }

    @Test func quotedValuesLoseTheirQuotes() {
        #expect(CookieHeader.parse("a=\"b c\"; d=\"\"")["a"] == "b c")
        #expect(CookieHeader.parse("d=\"\"")["d"] == "")
        #expect(CookieHeader.parse("e=\"half")["e"] == "\"half")
    }

    @Test func straySpacesAndEmptyCrumbsAreDropped() {
        let cookies = CookieHeader.parse("  a = 1 ;;\tb=2\t; ;")
        #expect(cookies.fields == [.init(name: "a", value: "1"), .init(name: "b", value: "2")])
    }

    @Test func namelessCrumbIsKeptWithAnEmptyName() {
        let cookies = CookieHeader.parse("token; a=1")
        #expect(cookies.fields == [.init(name: "", value: "token"), .init(name: "a", value: "1")])
    }

    @Test func valueMayHoldEqualsSigns() {
        #expect(CookieHeader.parse("a=b=c==")["a"] == "b=c==")
    }

    @Test func emptyHeaderHasNoCookies() {
        #expect(CookieHeader.parse("").isEmpty)
        #expect(CookieHeader.parse(" ; ").isEmpty)
    }

    @Test func invalidUTF8BecomesReplacementCharacters() {
        let header = String(decoding: [0x61, 0x3D, 0xFF, 0xFE], as: UTF8.self)
        #expect(CookieHeader.parse(header)["a"] == "\u{FFFD}\u{FFFD}")
    }
}
