import Foundation

/// Sets a file's modification (and access) time, as an old session or a crash's leftover has.
package func setModificationTime(of path: String, to time: Int) throws {
    var times = [timespec(tv_sec: time, tv_nsec: 0), timespec(tv_sec: time, tv_nsec: 0)]
    guard utimensat(AT_FDCWD, path, &times, 0) == 0 else { throw TestFailure("cannot set the time of \(path)") }
}
