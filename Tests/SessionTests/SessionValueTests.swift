@testable import Obsession
import TestSupport
import Testing

@Suite struct SessionValueTests {
    @Test func literalsMakeEveryKind() {
        let value: SessionValue = ["s": "text", "i": 3, "d": 1.5, "b": true, "n": nil, "a": [1, "two"], "o": ["k": 1]]
        #expect(value["s"]?.stringValue == "text")
        #expect(value["i"]?.intValue == 3)
        #expect(value["d"]?.doubleValue == 1.5)
        #expect(value["b"]?.boolValue == true)
        #expect(value["n"] == .null)
        #expect(value["a"]?[1]?.stringValue == "two")
        #expect(value["o"]?["k"]?.intValue == 1)
    }

    @Test func nestedChangesAreValueChanges() {
        var value: SessionValue = ["cart": [1, 2, 3]]
        value["cart"]?.append(4)
        value["cart"]?[0] = 10
        #expect(value == ["cart": [10, 2, 3, 4]])
    }

    @Test func jsonRoundTripsEveryKind() throws {
        let value: SessionValue = ["text": "quote \" backslash \\ newline \n tab \t nul \u{0} é 🙂", "int": -42,
                                   "double": 0.1, "big": 9_007_199_254_740_993, "flags": [true, false, nil],
                                   "nested": ["deep": [["x": 1]]], "empty": [:], "none": []]
        #expect(try JSON.decode(JSON.encode(value)) == value)
    }

    @Test func jsonIsCompactAndOrdered() {
        let value: SessionValue = ["b": 1, "a": [true, nil]]
        #expect(value.description == "{\"a\":[true,null],\"b\":1}")
    }

    @Test(arguments: ["", "{", "{\"a\":}", "[1,]", "\"unterminated", "tru", "{\"a\":1} x", "\"\\x\"", "01x", "\"\u{1}\"", "1e999",
                             "01", "-01", "1.", ".5", "-", "1e", "1e+", "+1", "1.5.2", "--1", "1-2", "0x10",
                             "\"\\u+fff\"", "\"\\u-000\"", "\"\\u12\"", "\"\\ud83d\\u12\""])
    func malformedJSONIsRefused(text: String) {
        #expect(throws: JSON.SyntaxError.self) { try JSON.decode(Array(text.utf8)) }
    }

    @Test(arguments: [("0", SessionValue.int(0)), ("-0", .int(0)), ("10", .int(10)), ("-12", .int(-12)), ("0.5", .double(0.5)),
                      ("-1.25e2", .double(-125)), ("1E+2", .double(100)), ("2e-1", .double(0.2)),
                      ("9223372036854775808", .double(9_223_372_036_854_775_808)),
                      // Either side of the 18 characters read without a string, and Int's ends.
                      ("999999999999999999", .int(999_999_999_999_999_999)), ("-99999999999999999", .int(-99_999_999_999_999_999)),
                      ("9223372036854775807", .int(.max)), ("-9223372036854775808", .int(.min))])
    func numbersAreReadAsRFC8259WritesThem(text: String, value: SessionValue) throws {
        #expect(try JSON.decode(Array(text.utf8)) == value)
    }

    @Test func deepNestingIsRefusedNotACrash() {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(throws: JSON.SyntaxError.self) { try JSON.decode(Array(deep.utf8)) }
    }

    @Test func escapedUnicodeIsDecoded() throws {
        #expect(try JSON.decode(Array("\"\\u00e9\\ud83d\\ude42\"".utf8)) == "é🙂")
    }

    /// Found by `make fuzz`: a high surrogate before an escape that is not a low one overflowed
    /// (a crash of the whole server, for session data another program wrote).
    @Test(arguments: [("\"\\ud83d\\u0ed0\"", "\u{FFFD}\u{0ED0}"), ("\"\\ud83d\\ud83d\\ude42\"", "\u{FFFD}🙂"),
                      ("\"\\ud83d\\n\"", "\u{FFFD}\n"), ("\"\\ude42\\ud83d\"", "\u{FFFD}\u{FFFD}"), ("\"a\\ud83d\"", "a\u{FFFD}")])
    func unpairedSurrogatesBecomeReplacementCharacters(text: String, decoded: String) throws {
        #expect(try JSON.decode(Array(text.utf8)) == .string(decoded))
    }
}
