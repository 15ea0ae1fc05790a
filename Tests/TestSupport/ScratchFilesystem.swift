import Foundation

/// A small tmpfs mounted for one test (root only), to fill it or make it read-only for real;
/// unmounted when dropped.
///
/// The unmount is lazy: the test's own `defer`s (closing a file it holds open in the mount)
/// may run after this is dropped, and a plain umount would then fail busy and leave the mount.
package final class ScratchFilesystem {
    package let path: String
    private let holder: TemporaryDirectory

    /// `kilobytes` of space, and at most `inodes` files and directories if given.
    package init(kilobytes: Int, inodes: Int? = nil) throws {
        holder = try TemporaryDirectory()
        path = holder.file("mnt")
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        let limit = inodes.map { ",nr_inodes=\($0)" } ?? ""
        try Self.run(["mount", "-t", "tmpfs", "-o", "size=\(kilobytes)k,mode=0700\(limit)", "tmpfs", path])
    }

    /// Makes the file system read-only.
    package func makeReadOnly() throws { try Self.run(["mount", "-o", "remount,ro", path]) }

    /// Fills the file system to the last block.
    package func fill() {
        let descriptor = open(path + "/filler", O_WRONLY | O_CREAT, 0o600)
        let block = [UInt8](repeating: 0, count: 4096)
        while write(descriptor, block, block.count) > 0 {}
        close(descriptor)
    }

    private static func run(_ arguments: [String]) throws {
        let directory = try TemporaryDirectory()
        let child = try ChildProcess("/usr/bin/" + arguments[0], Array(arguments.dropFirst()), in: directory, name: "mount")
        guard child.waitForExit() == 0 else {
            throw TestFailure("\(arguments.joined(separator: " ")) failed (the test needs root): \(child.errorOutput)")
        }
    }

    deinit {
        _ = try? Self.run(["umount", "--lazy", path])
    }
}
