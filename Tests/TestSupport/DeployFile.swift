import Foundation
import Testing

/// The files in deploy/, read as a test uses them: with only their paths swapped.
package enum DeployFile {
    /// The text of `deploy/<path>` with each `(old, new)` of `replacements` swapped; a missing
    /// `old` is a failure (the file changed under the test).
    package static func read(_ path: String, replacing replacements: [(String, String)]) throws -> String {
        var text = try String(contentsOfFile: TestEnvironment.packageRoot.appendingPathComponent("deploy/" + path).path, encoding: .utf8)
        for (old, new) in replacements {
            #expect(text.contains(old), "\(path) no longer holds \(old)")
            text = text.replacingOccurrences(of: old, with: new)
        }
        return text
    }
}
