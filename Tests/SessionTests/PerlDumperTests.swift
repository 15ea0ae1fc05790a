import Obsession
import ObsessionPerl
import Testing

/// CGI::Session's Data::Dumper records read as data, never as code.
@Suite struct PerlDumperTests {
    @Test func aRecordReadsAndWritesBackAsItWas() throws {
        let record = Array(#"$D = {'_SESSION_ID' => 'abc','n' => 3,'s' => 'it\'s \\ ok','l' => [1,'two',undef],'h' => {'k' => 'v'},'o' => bless( {'name' => 'ann'}, 'Profile' ),'w' => "caf\x{e9}"};;$D"#.utf8)
        let entries = try PerlDumper.entries(of: record)
        #expect(entries.map(\.key) == ["_SESSION_ID", "n", "s", "l", "h", "o", "w"])
        #expect(entries[1].value == 3 && entries[2].value == "it's \\ ok" && entries[3].value == [1, "two", .null])
        #expect(entries[4].value == ["k": "v"] && entries[5].value == nil && entries[6].value == "café")
        #expect(PerlDumper.record(of: entries) == record)
        #expect(PerlDumper.text(of: ["b": [true, 1.5, 1_234_567_890, "x'y"]]) == Array(#"{'b' => [1,'1.5','1234567890','x\'y']}"#.utf8))
    }

    @Test(arguments: [
        #"$D = {'a' => system('rm -rf /')};;$D"#, #"$D = {'a' => `id`};;$D"#, #"$D = {'a' => "@{[ system('id') ]}"};;$D"#,
        #"$D = {'a' => "$ENV{HOME}"};;$D"#, #"$D = {'a' => sub { 1 }};;$D"#, #"$D = {'a' => \'x'};;$D"#,
        #"$D = {'a' => {}};$D->{'b'} = $D->{'a'};;$D"#, #"$D = {'a' => 1};;$D; unlink '/x'"#, #"$D = {'a' => 1"#,
        #"$D = {'a' => 'open};;$D"#, #"$D = ['a'];;$D"#, #"$D = {'a' => 99999999999999999999999};;$D"#,
        "$D = {'a' => " + String(repeating: "[", count: 70) + String(repeating: "]", count: 70) + "};;$D",
    ])
    func anythingButDataIsRefused(text: String) {
        #expect(throws: PerlFormatError.self) { try PerlDumper.entries(of: Array(text.utf8)) }
    }
}
