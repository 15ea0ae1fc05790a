/// Something `obsession doctor` found wrong with a store, and what to do about it.
///
/// ```swift
/// for finding in try backend.diagnose(idleTimeout: 1440) { print("\(finding.problem) — \(finding.advice)") }
/// ```
public struct StoreFinding: Sendable, Equatable {
    /// What is wrong, in one sentence.
    public let problem: String
    /// What to do about it, in one sentence.
    public let advice: String

    /// Makes a finding.
    ///
    /// ```swift
    /// StoreFinding(problem: "3 stray temporary files", advice: "run obsession gc")
    /// ```
    public init(problem: String, advice: String) {
        self.problem = problem
        self.advice = advice
    }
}
