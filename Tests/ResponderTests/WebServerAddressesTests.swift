@testable import FastCGI
import Glibc
import TestSupport
import Testing

@Suite struct WebServerAddressesTests {
    /// A peer address as accept gives it.
    private func peer(_ text: String) -> sockaddr_storage {
        var storage = sockaddr_storage()
        withUnsafeMutableBytes(of: &storage) { bytes in
            if text.contains(":") {
                var address = sockaddr_in6()
                address.sin6_family = sa_family_t(AF_INET6)
                _ = inet_pton(AF_INET6, text, &address.sin6_addr)
                withUnsafeBytes(of: &address) { bytes.copyMemory(from: $0) }
            } else {
                var address = sockaddr_in()
                address.sin_family = sa_family_t(AF_INET)
                _ = inet_pton(AF_INET, text, &address.sin_addr)
                withUnsafeBytes(of: &address) { bytes.copyMemory(from: $0) }
            }
        }
        return storage
    }

    @Test func anEmptyOrMissingListAllowsEveryAddress() throws {
        for list in [nil, ""] {
            let addresses = try WebServerAddresses(list)
            #expect(addresses.allows(peer("10.1.2.3")))
            #expect(addresses.allows(peer("2001:db8::1")))
        }
    }

    @Test func onlyListedAddressesAreAllowed() throws {
        let addresses = try WebServerAddresses("127.0.0.1, 2001:db8::1")
        #expect(addresses.allows(peer("127.0.0.1")))
        #expect(!addresses.allows(peer("127.0.0.2")))
        #expect(addresses.allows(peer("2001:db8::1")))
        #expect(!addresses.allows(peer("2001:db8::2")))
        // An IPv4 client of a dual-stack socket, seen as ::ffff:127.0.0.1.
        #expect(addresses.allows(peer("::ffff:127.0.0.1")))
        #expect(!addresses.allows(peer("::ffff:127.0.0.2")))
        // A Unix peer is never checked.
        var unix = sockaddr_storage()
        unix.ss_family = sa_family_t(AF_UNIX)
        #expect(addresses.allows(unix))
    }

    @Test(arguments: ["localhost", "127.0.0", "127.0.0.1/8", "::1::2", "127.0.0.1,,x"])
    func anEntryThatIsNotAnAddressIsAnError(list: String) {
        #expect { try WebServerAddresses(list) } throws: { error in
            (error as? ServerError)?.code == .invalidArgument
        }
    }
}
