import Foundation

/// What the kernel says of a running process, read from /proc.
package enum ProcessInspection {
    /// How many descriptors `pid` has open.
    package static func openDescriptors(of pid: pid_t) -> Int {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? []).count
    }

    /// The most resident memory `pid` has held so far (VmHWM), in KiB.
    package static func peakMemoryKiB(of pid: pid_t) -> Int {
        status(of: pid, "VmHWM")
    }

    /// How many threads `pid` runs (each counts against the user's process limit).
    package static func threads(of pid: pid_t) -> Int {
        status(of: pid, "Threads")
    }

    /// The number in `pid`'s /proc status line `field`, or 0.
    private static func status(of pid: pid_t, _ field: String) -> Int {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix(field + ":") } ?? ""
        return Int(line.split(whereSeparator: { $0 == " " || $0 == "\t" }).dropFirst().first ?? "") ?? 0
    }
}
