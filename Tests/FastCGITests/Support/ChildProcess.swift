import Foundation

/// A program started for a test, with stdout and stderr collected in files; killed when
/// dropped if still running.
final class ChildProcess {
    let process = Process()
    let outputPath: String
    let errorPath: String

    /// Starts `executable` with `arguments`; `environment` adds to (or, with `replaceEnvironment`,
    /// replaces) the test's own; `standardInput` becomes its descriptor 0.
    init(_ executable: String, _ arguments: [String], in directory: TemporaryDirectory, name: String,
         environment: [String: String] = [:], replaceEnvironment: Bool = false,
         standardInput: FileHandle? = nil) throws {
        outputPath = directory.file("\(name).out")
        errorPath = directory.file("\(name).err")
        _ = FileManager.default.createFile(atPath: outputPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errorPath, contents: nil)
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = replaceEnvironment
            ? environment : ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardOutput = FileHandle(forWritingAtPath: outputPath)
        process.standardError = FileHandle(forWritingAtPath: errorPath)
        process.standardInput = standardInput ?? FileHandle(forReadingAtPath: "/dev/null")
        try process.run()
    }

    var pid: Int32 { process.processIdentifier }
    var output: String { (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "" }
    var errorOutput: String { (try? String(contentsOfFile: errorPath, encoding: .utf8)) ?? "" }

    func signal(_ number: Int32) { kill(process.processIdentifier, number) }

    /// Waits for the program to exit, for at most `seconds`; its status, or nil if it still runs.
    func waitForExit(seconds: Double = 20) -> Int32? {
        guard waitUntil(seconds: seconds, { !process.isRunning }) else { return nil }
        return process.terminationStatus
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }
}

/// The `hello` example serving FastCGI on a socket in `directory`.
final class HelloServer {
    let socketPath: String
    let child: ChildProcess

    init(in directory: TemporaryDirectory, workers: Int = 2, extraArguments: [String] = [],
         environment: [String: String] = [:]) throws {
        socketPath = directory.file("hello.sock")
        child = try ChildProcess(TestEnvironment.executable("hello"),
                                 ["--listen", "unix:\(socketPath)", "--socket-mode", "666", "--workers", "\(workers)"] + extraArguments,
                                 in: directory, name: "hello", environment: environment)
        guard waitUntil({ FileManager.default.fileExists(atPath: socketPath) }) else {
            throw TestFailure("hello did not start: \(child.errorOutput)")
        }
    }
}

/// A failure of the test's own set-up, with what went wrong.
struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
