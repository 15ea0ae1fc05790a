import FastCGI
import Foundation
import Obsession
import ObsessionPHP
import TestSupport
import Testing

/// PHP's serialized format and session handlers, read and written by the codec, checked against
/// the real PHP (Debian's php8.2-cli) both ways.
@Suite struct PHPSerializationTests {
    static let php = "/usr/bin/php"

    /// Runs `script` with PHP's CLI and returns what it printed.
    func runPHP(_ script: String, in directory: TemporaryDirectory) throws -> String {
        try script.write(toFile: directory.file("script.php"), atomically: false, encoding: .utf8)
        let child = try ChildProcess(Self.php, ["-n", "-d", "serialize_precision=-1", directory.file("script.php")], in: directory, name: "php")
        #expect(child.waitForExit(seconds: 30) == 0, "php failed: \(child.errorOutput)")
        return child.output
    }

    /// A corpus of values PHP serializes, its objects among them: each read by Swift, written
    /// back, and given to PHP again, which must find the very value it wrote.
    @Test(.requires(php)) func everyValuePHPWritesComesBackAsPHPWroteIt() throws {
        let directory = try TemporaryDirectory()
        let corpus = """
        <?php
        class User { public $name = 'ann'; protected $id = 7; private $secret = "s\\0x"; }
        class Box implements Serializable { public function serialize() { return 'box|1'; }
            public function unserialize($data) {} public function __serialize(): array { return ['v' => 1]; }
            public function __unserialize(array $data): void {} }
        enum Suit: string { case Hearts = 'H'; case Spades = 'S'; }
        $values = [null, true, false, 0, -1, PHP_INT_MAX, PHP_INT_MIN, 0.1, -0.0, 1.5e300, 5e-324, 1e25, NAN, INF, -INF,
            '', 'ann', "caf\\u{e9}", "\\xff\\xfe bytes", "line\\nbreak \\"quoted\\" ;:{}|", [], [1, 2, 3], ['a' => 1, 'b' => [true, null]],
            [5 => 'five', 'x' => 'ex', -3 => 'minus'], [1 => 'one', 0 => 'zero'], ['05' => 'string key', '5' => 'int key'],
            new User(), [new User(), 'tail'], Suit::Hearts, ['suit' => Suit::Spades], new ArrayObject([1, 2]), new Box(),
            str_repeat('x', 70000), range(0, 999), [[[[[['deep']]]]]]];
        $out = [];
        foreach ($values as $value) { $out[] = base64_encode(serialize($value)); }
        echo json_encode($out);
        """
        let written = try JSONDecoder().decode([String].self, from: Data(try runPHP(corpus, in: directory).utf8))
        #expect(written.count == 35)
        var back: [String] = []
        for (index, text) in written.enumerated() {
            let bytes = [UInt8](Data(base64Encoded: text)!)
            let value = try PHPValue(serialized: bytes)
            back.append(Data(value.serialized).base64EncodedString())
            // Objects, enums and what holds them stay exactly as PHP wrote them.
            if case .opaque(let kept) = value { #expect(kept == bytes, "value \(index)") }
        }
        let check = corpus.replacingOccurrences(of: "echo json_encode($out);", with: """
        $swift = json_decode(file_get_contents('\(directory.file("back.json"))'));
        foreach ($values as $i => $value) {
            $again = unserialize(base64_decode($swift[$i]));
            if (serialize($again) !== serialize($value)) { echo "value $i differs: ", base64_decode($swift[$i]), "\\n"; }
        }
        echo "checked\\n";
        """)
        try JSONEncoder().encode(back).write(to: URL(fileURLWithPath: directory.file("back.json")))
        #expect(try runPHP(check, in: directory) == "checked\n")
    }

    @Test func valuesMapToSessionValuesWhereTheyCanBeHeldFaithfully() throws {
        func session(_ text: String) throws -> SessionValue? { try PHPValue(serialized: Array(text.utf8)).sessionValue }
        #expect(try session(#"a:3:{i:0;i:1;i:1;s:1:"b";i:2;d:0.5;}"#) == [1, "b", 0.5])
        #expect(try session(#"a:2:{i:1;s:3:"one";i:0;s:4:"zero";}"#) == ["1": "one", "0": "zero"], "out of order: a map")
        #expect(try session(#"a:2:{i:5;b:1;s:1:"x";N;}"#) == ["5": true, "x": .null])
        #expect(try session(#"O:4:"User":0:{}"#) == nil)
        #expect(try session(#"a:1:{i:0;O:4:"User":0:{}}"#) == nil)
        #expect(try session("s:2:\"\u{7f}\u{7f}\";") == "\u{7f}\u{7f}")
        #expect(try PHPValue(serialized: [UInt8]("s:1:\"".utf8) + [0xff] + [UInt8]("\";".utf8)).sessionValue == nil)
        #expect(PHPValue(["5": 1, "05": 2, "b": [true]] as SessionValue).serialized
                == Array(#"a:3:{s:2:"05";i:2;i:5;i:1;s:1:"b";a:1:{i:0;b:1;}}"#.utf8))
    }

    @Test(arguments: [
        ("", "ends too soon"), ("i:1", "ends too soon"), ("i:;", "no digits"), ("i:99999999999999999999;", "out of range"),
        ("b:2;", "not 0 or 1"), ("s:5:\"abc\";", "ends too soon"), ("s:-1:\"\";", "length of -1"), ("s:3:\"abc\"", "ends too soon"), ("s:3:\"ab", "longer than the data left"),
        ("a:1000000:{}", "length of 1000000"), ("a:1:{i:0;}", "no value begins"), ("a:1:{d:1;i:0;}", "key that is not"),
        ("d:1x;", "not a number"), ("d:nan;", "not a number"), ("X:1;", "no value begins"), ("i:1;i:2;", "bytes after"),
        ("r:0;", "reference to nothing"), ("C:3:\"Box\":100:{}", "length of 100"), ("O:4:\"User\":1:{}", "length of 1"),
    ])
    func malformedDataIsAClearError(text: String, message: String) {
        #expect { try PHPValue(serialized: Array(text.utf8)) } throws: { "\($0)".contains(message) }
    }

    @Test func nestingAndCountsAreBounded() {
        let deep = String(repeating: "a:1:{i:0;", count: 65) + "N;" + String(repeating: "}", count: 65)
        #expect { try PHPValue(serialized: Array(deep.utf8)) } throws: { "\($0)".contains("nesting deeper than 64") }
        let huge = [UInt8](repeating: UInt8(ascii: "N"), count: PHPFormatLimits.maxBytes + 1)
        #expect { try PHPValue(serialized: huge) } throws: { "\($0)".contains("more than") }
    }

    @Test func sessionHandlersKeepKeysInOrderAndUntouchedValuesByteForByte() throws {
        let php = Array(#"user|O:4:"User":1:{s:4:"name";s:3:"ann";}cart|a:1:{i:0;s:5:"apple";}n|d:1.0E+25;"#.utf8)
        let entries = try PHPSessionFormat.php.decode(php)
        #expect(entries.map(\.key) == [.string(Array("user".utf8)), .string(Array("cart".utf8)), .string(Array("n".utf8))])
        #expect(try PHPSessionFormat.php.encode(entries) == php)
        let serialized = Array(#"a:2:{s:4:"user";O:4:"User":0:{}i:7;d:1.0E+25;}"#.utf8)
        #expect(try PHPSessionFormat.phpSerialize.encode(try PHPSessionFormat.phpSerialize.decode(serialized)) == serialized)
        #expect(try PHPSessionFormat.php.decode([]) == [])
        #expect { try PHPSessionFormat.php.decode(Array(#"a|i:1;b|r:1;"#.utf8)) } throws: { "\($0)".contains("reference") }
        #expect { try PHPSessionFormat.php.decode(Array("novalue".utf8)) } throws: { "\($0)".contains("without its |") }
        #expect { try PHPSessionFormat.php.encode([.init(key: .string(Array("a|b".utf8)), serialized: Array("N;".utf8))]) } throws: { _ in true }
    }
}
