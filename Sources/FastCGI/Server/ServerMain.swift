import Glibc

extension FastCGIServer {
    /// The whole `main` of a FastCGI program: reads the command line (see ``ServerOptions``),
    /// makes the responder, runs the server, and exits: 0 after a graceful stop, 1 with the
    /// error on stderr if it could not start or stop cleanly (a taken port, an unknown flag).
    ///
    /// ```swift
    /// FastCGIServer.main(programFlags: ["--greeting"]) { options in
    ///     let greeting = options.value(of: "--greeting") ?? "hello"
    ///     return ClosureResponder { _, response in try response.write("\(greeting)\n") }
    /// }
    /// ```
    public static func main<R: Responder>(
        arguments: [String] = CommandLine.arguments, programFlags: Set<String> = [],
        _ makeResponder: (ServerOptions) throws -> R
    ) -> Never {
        let program = arguments.first.map { String($0.split(separator: "/").last ?? "") } ?? "server"
        do {
            let options = try ServerOptions(arguments.dropFirst(), programFlags: programFlags)
            try FastCGIServer(configuration: options.configuration).run(try makeResponder(options))
            exit(0)
        } catch {
            var line = "\(program): \(error)\n"
            line.withUTF8 { _ = writeAll(STDERR_FILENO, UnsafeRawBufferPointer($0)) }
            exit(1)
        }
    }
}
