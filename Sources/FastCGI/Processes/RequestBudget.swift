import Synchronization

/// How many requests a worker process serves before it retires (`--max-requests`), counted
/// across its threads.
final class RequestBudget: Sendable {
    let limit: Int
    private let served = Atomic<Int>(0)

    init(_ limit: Int) {
        self.limit = max(limit, 1)
    }

    /// Counts one request; true for the one that used the budget up.
    func spend() -> Bool {
        served.wrappingAdd(1, ordering: .relaxed).newValue == limit
    }
}
