@testable import FastCGI
import TestSupport
import Testing

@Suite struct CookieTests {
    @Test func defaultsAreTheSafeOnes() throws {
        #expect(try Cookie(name: "a", value: "b").headerValue() == "a=b; Path=/; Secure; HttpOnly; SameSite=Lax")
    }

    @Test func everyAttributeIsWritten() throws {
        let cookie = Cookie(name: "id", value: "x1", maxAge: 3600, expires: 784_111_777, path: "/app",
                            domain: "example.org", secure: true, httpOnly: false, sameSite: .strict, partitioned: true)
        #expect(try cookie.headerValue()
            == "id=x1; Max-Age=3600; Expires=Sun, 06 Nov 1994 08:49:37 GMT; Path=/app; Domain=example.org; Secure; SameSite=Strict; Partitioned")
    }

    @Test func expiredCookieHasZeroMaxAgeAndAPastDate() throws {
        #expect(try Cookie.expired(name: "a").headerValue()
            == "a=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/; Secure; HttpOnly; SameSite=Lax")
    }

    @Test(arguments: ["a b", "a;b", "a,b", "a\"b", "a\\b", "a\r\nSet-Cookie: x=1", "é"])
    func valuesOutsideCookieOctetsAreRefused(value: String) {
        #expect(throws: ResponseError.self) { try Cookie(name: "a", value: value).headerValue() }
    }

    @Test(arguments: ["", "a b", "a=b", "a;b", "a\n"])
    func namesThatAreNotTokensAreRefused(name: String) {
        #expect(throws: ResponseError.self) { try Cookie(name: name, value: "v").headerValue() }
    }

    @Test func attributesCannotInjectMore() {
        #expect(throws: ResponseError.self) { try Cookie(name: "a", value: "b", path: "/; Domain=evil").headerValue() }
        #expect(throws: ResponseError.self) { try Cookie(name: "a", value: "b", domain: "x\r\n").headerValue() }
    }

    @Test func prefixRulesAreEnforced() throws {
        #expect(throws: ResponseError.self) { try Cookie(name: "__Secure-a", value: "b", secure: false).headerValue() }
        #expect(throws: ResponseError.self) { try Cookie(name: "__Host-a", value: "b", path: "/x").headerValue() }
        #expect(throws: ResponseError.self) { try Cookie(name: "__Host-a", value: "b", domain: "example.org").headerValue() }
        #expect(throws: ResponseError.self) { try Cookie(name: "__Host-a", value: "b", path: nil).headerValue() }
        #expect(try Cookie(name: "__Host-a", value: "b").headerValue().hasPrefix("__Host-a=b; Path=/; Secure"))
    }

    @Test func sameSiteNoneNeedsSecure() {
        #expect(throws: ResponseError.self) { try Cookie(name: "a", value: "b", secure: false, sameSite: SameSiteNone.value).headerValue() }
    }

    @Test(arguments: [(0, "Thu, 01 Jan 1970 00:00:00 GMT"), (951_782_400, "Tue, 29 Feb 2000 00:00:00 GMT"),
                      (4_102_444_799, "Thu, 31 Dec 2099 23:59:59 GMT"), (-1, "Wed, 31 Dec 1969 23:59:59 GMT")])
    func httpDatesAreFormatted(seconds: Int, text: String) {
        #expect(HTTPDate.format(secondsSince1970: seconds) == text)
    }
}

/// `.none` reads as Optional.none inside `Cookie.SameSite?`: name the case plainly.
private enum SameSiteNone { static let value = Cookie.SameSite.none }
