/// A cookie to set on the client: one `Set-Cookie` header, built from its attributes.
///
/// The defaults are the safe ones: `Path=/`, `HttpOnly`, `Secure`, `SameSite=Lax`. The rules of
/// RFC 6265 and of the cookie prefixes are checked when the cookie is set on a response:
/// a `__Secure-` cookie must be `Secure`; a `__Host-` cookie must be `Secure`, have `Path=/` and
/// no `Domain`; `SameSite=None` needs `Secure`.
///
/// ```swift
/// try response.setCookie(Cookie(name: "theme", value: "dark", maxAge: 86400))
/// try response.setCookie(Cookie(name: "__Host-id", value: token))
/// try response.setCookie(.expired(name: "theme"))
/// ```
public struct Cookie: Sendable, Equatable {
    /// The `SameSite` attribute.
    ///
    /// ```swift
    /// let cookie = Cookie(name: "theme", value: "dark", sameSite: .strict)
    /// ```
    public enum SameSite: String, Sendable {
        case strict = "Strict"
        case lax = "Lax"
        case none = "None"
    }

    /// The cookie's name: an HTTP token.
    public var name: String
    /// The cookie's value: RFC 6265 cookie-octets (no spaces, quotes, commas, semicolons or backslashes).
    public var value: String
    /// `Max-Age` in seconds; 0 or less expires the cookie at once. Nil: a session cookie.
    public var maxAge: Int?
    /// `Expires`, in seconds since 1970 (UTC); written as an HTTP date for older clients.
    public var expires: Int?
    /// `Path`; nil leaves it out.
    public var path: String?
    /// `Domain`; nil means this host only.
    public var domain: String?
    /// `Secure`: sent over HTTPS only.
    public var secure: Bool
    /// `HttpOnly`: hidden from JavaScript.
    public var httpOnly: Bool
    /// `SameSite`; nil leaves it out.
    public var sameSite: SameSite?
    /// `Partitioned` (CHIPS): kept per top-level site.
    public var partitioned: Bool

    /// Makes a cookie; every attribute has a safe default.
    ///
    /// ```swift
    /// let cookie = Cookie(name: "lang", value: "en", maxAge: 3600, sameSite: .strict)
    /// ```
    public init(name: String, value: String, maxAge: Int? = nil, expires: Int? = nil, path: String? = "/",
                domain: String? = nil, secure: Bool = true, httpOnly: Bool = true, sameSite: SameSite? = .lax,
                partitioned: Bool = false) {
        self.name = name
        self.value = value
        self.maxAge = maxAge
        self.expires = expires
        self.path = path
        self.domain = domain
        self.secure = secure
        self.httpOnly = httpOnly
        self.sameSite = sameSite
        self.partitioned = partitioned
    }

    /// A cookie that tells the client to drop the cookie `name` at once: empty value,
    /// `Max-Age=0` and an `Expires` in the past. Path and domain must match the cookie's own.
    ///
    /// ```swift
    /// try response.setCookie(.expired(name: "theme", path: "/app"))
    /// ```
    public static func expired(name: String, path: String? = "/", domain: String? = nil, secure: Bool = true,
                               httpOnly: Bool = true, sameSite: SameSite? = .lax) -> Cookie {
        Cookie(name: name, value: "", maxAge: 0, expires: 0, path: path, domain: domain, secure: secure,
               httpOnly: httpOnly, sameSite: sameSite)
    }

    /// The `Set-Cookie` header value, after checking every rule.
    ///
    /// ```swift
    /// try Cookie(name: "a", value: "b").headerValue()  // "a=b; Path=/; Secure; HttpOnly; SameSite=Lax"
    /// ```
    public func headerValue() throws(ResponseError) -> String {
        guard !name.isEmpty, name.withUTF8Bytes({ $0.allSatisfy(HTTPSyntax.isTokenByte) }) else {
            throw .invalidCookie("the name \(String(reflecting: name)) is not an HTTP token")
        }
        guard value.withUTF8Bytes({ $0.allSatisfy(Self.isCookieOctet) }) else {
            throw .invalidCookie("the value of \(name) holds a character RFC 6265 forbids")
        }
        func check(_ attribute: String, _ text: String?) throws(ResponseError) {
            if let text, text.isEmpty || text.utf8.contains(where: { $0 == UInt8(ascii: ";") || $0 < 0x20 || $0 == 0x7F }) {
                throw .invalidCookie("the \(attribute) of \(name) is empty or holds ';' or a control character")
            }
        }
        try check("Path", path)
        try check("Domain", domain)
        if name.hasPrefix("__Secure-") || name.hasPrefix("__Host-"), !secure {
            throw .invalidCookie("\(name) must be Secure: its prefix says so")
        }
        if name.hasPrefix("__Host-"), path != "/" || domain != nil {
            throw .invalidCookie("\(name) must have Path=/ and no Domain: its __Host- prefix says so")
        }
        if sameSite == SameSite.none, !secure {
            throw .invalidCookie("\(name) has SameSite=None, which browsers accept only with Secure")
        }
        // One string sized for the longest header these attributes can make: every session
        // response with a new id sends one.
        let maxAgeText = maxAge.map { String(max($0, 0)) }
        let expiresText = expires.map { HTTPDate.format(secondsSince1970: $0) }
        let capacity = name.utf8.count + 1 + value.utf8.count + 10 + (maxAgeText?.utf8.count ?? 0)
            + 10 + (expiresText?.utf8.count ?? 0) + 7 + (path?.utf8.count ?? 0) + 9 + (domain?.utf8.count ?? 0)
            + 8 + 10 + 11 + (sameSite?.rawValue.utf8.count ?? 0) + 13
        return ByteBlock.string(capacity: capacity) { header in
            header.append(name)
            header.append("=")
            header.append(value)
            if let maxAgeText { header.append("; Max-Age="); header.append(maxAgeText) }
            if let expiresText { header.append("; Expires="); header.append(expiresText) }
            if let path { header.append("; Path="); header.append(path) }
            if let domain { header.append("; Domain="); header.append(domain) }
            if secure { header.append("; Secure") }
            if httpOnly { header.append("; HttpOnly") }
            if let sameSite { header.append("; SameSite="); header.append(sameSite.rawValue) }
            if partitioned { header.append("; Partitioned") }
        }
    }

    /// cookie-octet of RFC 6265 §4.1.1.
    private static func isCookieOctet(_ byte: UInt8) -> Bool {
        byte == 0x21 || (0x23...0x2B).contains(byte) || (0x2D...0x3A).contains(byte)
            || (0x3C...0x5B).contains(byte) || (0x5D...0x7E).contains(byte)
    }
}
