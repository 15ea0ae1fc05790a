@testable import Obsession
import TestSupport
import Testing

@Suite struct SessionIDTests {
    @Test func randomIdsAreFortyCharactersOfTheAlphabetAndDistinct() {
        let ids = (0..<2000).map { _ in SessionID.random() }
        #expect(Set(ids).count == ids.count)
        for id in ids {
            #expect(id.text.utf8.count == 40)
            #expect(SessionID(validating: id.text) == id)
        }
        let used = Set(ids.flatMap { Array($0.text.utf8) })
        #expect(used == Set(SessionIDFormat.obsession.alphabet), "all 64 symbols appear: 6 bits per character")
    }

    @Test(arguments: ["", "short", String(repeating: "a", count: 39), String(repeating: "a", count: 41),
                      "../../etc/passwd" + String(repeating: "a", count: 24), String(repeating: "a", count: 39) + "/",
                      String(repeating: "a", count: 39) + "_", String(repeating: "é", count: 20), String(repeating: "a", count: 39) + "\0"])
    func anythingElseIsNotAnId(text: String) {
        #expect(SessionID(validating: text) == nil)
    }
}
