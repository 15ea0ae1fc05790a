@testable import FastCGI
import TestSupport
import Testing

@Suite struct URLEncodingTests {
    @Test func plusIsSpaceAndPercentIsAByte() {
        let fields = URLEncoding.parse("q=a+b%20c&emoji=%F0%9F%99%82".utf8)
        #expect(fields["q"] == "a b c")
        #expect(fields["emoji"] == "🙂")
    }

    @Test func brokenPercentEscapesStayAsTheyAre() {
        #expect(URLEncoding.parse("a=%zz&b=%4&c=100%".utf8).map(\.value) == ["%zz", "%4", "100%"])
    }

    @Test func emptyPairsAreSkippedAndBareNamesHaveEmptyValues() {
        let fields = URLEncoding.parse("&a=1&&flag&=v&".utf8)
        #expect(fields.fields == [.init(name: "a", value: "1"), .init(name: "flag", value: ""), .init(name: "", value: "v")])
    }

    @Test func repeatedNamesKeepEveryValueInOrder() {
        let fields = URLEncoding.parse("t=a&t=b&u=c&t=d".utf8)
        #expect(fields.values(for: "t") == ["a", "b", "d"])
        #expect(fields["t"] == "a")
    }

    @Test func encodedSeparatorsAreData() {
        #expect(URLEncoding.parse("a=%26%3D".utf8)["a"] == "&=")
    }
}
