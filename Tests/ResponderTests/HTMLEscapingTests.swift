import FastCGI
import Testing

@Suite struct HTMLEscapingTests {
    @Test func theFiveMeaningfulCharactersBecomeEntities() {
        #expect(escapeHTML(#"<a href="x" title='y'>&</a>"#) == "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;")
    }

    @Test func everythingElseIsLeftAsItIs() {
        #expect(escapeHTML("café ☕︎ 1+1=2; \n\t") == "café ☕︎ 1+1=2; \n\t")
        #expect(escapeHTML("") == "")
    }
}
