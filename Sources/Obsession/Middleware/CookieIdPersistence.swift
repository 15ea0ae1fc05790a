/// Carries the session id in a cookie, with the attributes it is set with.
///
/// The defaults are the safe ones: `Path=/`, `Secure`, `HttpOnly`, `SameSite=Lax`, no
/// `Max-Age` (a browser-session cookie). With `maxAge`, the cookie is refreshed once an eighth
/// of it has passed, so an active user's session does not expire under them.
///
/// ```swift
/// let persister = CookieIdPersistence(cookieName: "mysession", maxAge: 86400, path: "/my-site",
///                                     domain: "mysite.example.org", secure: true)
/// ```
public struct CookieIdPersistence: Sendable {
    /// The cookie's name.
    public var cookieName: String
    /// The cookie's `Max-Age` in seconds; nil for a cookie that ends with the browser session.
    public var maxAge: Int?
    /// The cookie's `Path`.
    public var path: String
    /// The cookie's `Domain`; nil for this host only.
    public var domain: String?
    /// Whether the cookie is `Secure` (sent over HTTPS only).
    public var secure: Bool
    /// Whether the cookie is `HttpOnly` (hidden from JavaScript).
    public var httpOnly: Bool
    /// The cookie's `SameSite`.
    public var sameSite: Cookie.SameSite

    /// Makes a persister; every attribute has a safe default.
    ///
    /// ```swift
    /// let persister = CookieIdPersistence(cookieName: "__Host-session", maxAge: 3600)
    /// ```
    public init(cookieName: String = "_obs", maxAge: Int? = nil, path: String = "/", domain: String? = nil,
                secure: Bool = true, httpOnly: Bool = true, sameSite: Cookie.SameSite = .lax) {
        self.cookieName = cookieName
        self.maxAge = maxAge
        self.path = path
        self.domain = domain
        self.secure = secure
        self.httpOnly = httpOnly
        self.sameSite = sameSite
    }

    /// The well-formed session ids (of `format`) among the request's cookies of this name, in
    /// order, at most ``maxCandidates`` of them: the session is the first that names a stored one.
    ///
    /// ```swift
    /// let ids = persister.ids(in: request)
    /// ```
    public func ids(in request: Request, format: SessionIDFormat = .obsession) -> [SessionID] {
        // Read from the header's bytes: a string is made for each id alone, not for every cookie.
        cookieName.withUTF8Bytes { wanted in
            request.parameters.withValueBytes(of: "HTTP_COOKIE") { header in
                var found: [SessionID] = []
                CookieHeader.forEach(in: header ?? UnsafeBufferPointer(start: nil, count: 0)) { name, value in
                    if name.elementsEqual(wanted), let id = SessionID(validating: value, format: format) { found.append(id) }
                    return found.count < Self.maxCandidates
                }
                return found
            }
        }
    }

    /// The most ids of one request that are looked up: a header full of made-up ids costs at
    /// most this many lookups.
    public static let maxCandidates = 4

    /// The cookie that gives the client `id`.
    ///
    /// ```swift
    /// try response.setCookie(persister.cookie(for: .random()))
    /// ```
    public func cookie(for id: SessionID) -> Cookie {
        Cookie(name: cookieName, value: id.text, maxAge: maxAge, path: path, domain: domain, secure: secure,
               httpOnly: httpOnly, sameSite: sameSite)
    }

    /// The cookie that makes the client forget its session id: the same cookie with `Max-Age=0`.
    ///
    /// ```swift
    /// try response.setCookie(persister.expiredCookie())
    /// ```
    public func expiredCookie() -> Cookie {
        .expired(name: cookieName, path: path, domain: domain, secure: secure, httpOnly: httpOnly, sameSite: sameSite)
    }
}
