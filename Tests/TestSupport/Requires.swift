import Foundation
import Testing

extension Trait where Self == ConditionTrait {
    /// Runs the test only where every program in `programs` (absolute paths) is installed, and
    /// reports it skipped, naming them, where one is not: never passed without having run.
    /// `make test` installs them all, and fails if any test was skipped.
    package static func requires(_ programs: String...) -> Self {
        let missing = programs.filter { !FileManager.default.isExecutableFile(atPath: $0) }
        return .enabled(if: missing.isEmpty, "not installed: \(missing.joined(separator: ", "))")
    }
}
