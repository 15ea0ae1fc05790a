import ArgumentParser
import Foundation
import Obsession

/// One stored session as `list` and `show` tell it.
struct SessionRow {
    let id: SessionID
    let stored: StoredSession

    /// Size of the session's values, as JSON.
    var size: Int { SessionValue.object(stored.values).description.utf8.count }

    /// The row as a JSON object: the tag, never the id (a bearer credential).
    var json: SessionValue {
        .object([
            "tag": .string(id.tag), "user": stored.user.map(SessionValue.string) ?? .null, "created": .int(stored.createdAt),
            "last_seen": .int(stored.lastSeen), "size": .int(size),
        ])
    }
}

/// A time for people: UTC, to the second.
func humanTime(_ seconds: Int) -> String {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withFullDate, .withTime, .withColonSeparatorInTime, .withSpaceBetweenDateAndTime]
    return formatter.string(from: Date(timeIntervalSince1970: TimeInterval(seconds))) + " UTC"
}

/// Every stored session, read; those that cannot be read are skipped (and counted).
func readAll(_ backend: any SessionBackend) throws -> (rows: [SessionRow], unreadable: Int) {
    guard let listing = backend.listing else { throw SessionError.unsupported("this store cannot list its sessions") }
    var rows: [SessionRow] = [], unreadable = 0
    try listing.forEachSession { id in
        do {
            if let stored = try backend.load(id), !stored.isForward { rows.append(SessionRow(id: id, stored: stored)) }
        } catch SessionError.unreadable {
            unreadable += 1
        }
        return true
    }
    return (rows, unreadable)
}

/// The session an operator names: by its whole id, or by its tag (as log lines name it).
func findSession(_ name: String, in backend: any SessionBackend) throws -> SessionRow? {
    if let id = SessionID(validating: name, format: backend.idFormat) {
        return try backend.load(id).map { SessionRow(id: id, stored: $0) }
    }
    guard name.count == 8, name.allSatisfy(\.isHexDigit) else { return nil }
    return try readAll(backend).rows.first { $0.id.tag == name.lowercased() }
}

/// `obsession list`: every session, a line each (tag, user, created, last seen, size).
struct List: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the stored sessions: tag, user, created, last seen, size.")
    @OptionGroup var store: StoreOption
    @Flag(help: "One JSON object per session, in an array.") var json = false

    func run() throws {
        let rows = try withStore { try readAll(try store.open()).rows }.sorted { $0.stored.lastSeen > $1.stored.lastSeen }
        if json {
            print(SessionValue.array(rows.map(\.json)).description)
            return
        }
        print("TAG       USER                 CREATED                  LAST SEEN                SIZE")
        for row in rows {
            let user = (row.stored.user ?? "-").padding(toLength: 20, withPad: " ", startingAt: 0)
            print("\(row.id.tag)  \(user) \(humanTime(row.stored.createdAt))  \(humanTime(row.stored.lastSeen))  \(row.size)")
        }
    }
}

/// `obsession show ID`: one session's values and times.
struct Show: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show one session: its values and times (by id, or by the tag log lines give).")
    @Argument(help: "The session's id, or its 8-character tag.") var id: String
    @OptionGroup var store: StoreOption
    @Flag(help: "As JSON.") var json = false

    func run() throws {
        guard let row = try withStore({ try findSession(id, in: try store.open()) }) else {
            printError("obsession: no session \(id)")
            throw notFound
        }
        if json {
            guard case .object(var object) = row.json else { return }
            object["values"] = .object(row.stored.values)
            print(SessionValue.object(object).description)
            return
        }
        print("tag:       \(row.id.tag)\nuser:      \(row.stored.user ?? "-")\ncreated:   \(humanTime(row.stored.createdAt))")
        print("last seen: \(humanTime(row.stored.lastSeen))\nsize:      \(row.size) bytes")
        for key in row.stored.values.keys.sorted() { print("  \(key): \(row.stored.values[key]!)") }
    }
}

/// `obsession stats`: how many sessions, how large, how old.
struct Stats: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Count the sessions, their users, sizes and ages.")
    @OptionGroup var store: StoreOption
    @Flag(help: "As JSON.") var json = false

    func run() throws {
        let (rows, unreadable) = try withStore { try readAll(try store.open()) }
        let now = SystemClock().now
        let sizes = rows.map(\.size).sorted(), idle = rows.map { now - $0.stored.lastSeen }.sorted()
        let ages = rows.map { now - $0.stored.createdAt }.sorted()
        let numbers: [(String, Int)] = [
            ("sessions", rows.count), ("logged_in", rows.count { $0.stored.user != nil }),
            ("users", Set(rows.compactMap(\.stored.user)).count), ("unreadable", unreadable),
            ("bytes", sizes.reduce(0, +)), ("largest_bytes", sizes.last ?? 0), ("median_bytes", sizes.isEmpty ? 0 : sizes[sizes.count / 2]),
            ("oldest_seconds", ages.last ?? 0), ("median_idle_seconds", idle.isEmpty ? 0 : idle[idle.count / 2]),
            ("longest_idle_seconds", idle.last ?? 0),
        ]
        if json {
            print(SessionValue.object(Dictionary(uniqueKeysWithValues: numbers.map { ($0.0, SessionValue.int($0.1)) })).description)
        } else {
            for (name, value) in numbers { print("\(name.replacingOccurrences(of: "_", with: " ")): \(value)") }
        }
    }
}
