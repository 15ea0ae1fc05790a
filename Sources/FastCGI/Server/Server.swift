internal import CFastCGI
public import Logging
import Glibc

/// Runs a handler for every request a web server sends over FastCGI, on worker threads, or for
/// the one request of a classic CGI process.
///
/// Where it listens: the `listen` address if given; else the socket systemd passed
/// (`LISTEN_FDS`); else descriptor 0 if it is a listening socket (spawn-fcgi, mod_fcgid,
/// `cgi-fcgi -start`); else the process is a CGI program and serves one request from its
/// environment, stdin and stdout, with the same handler.
///
/// SIGTERM or SIGINT stops it gracefully: no new request is accepted, those in flight get
/// ``Configuration/gracePeriod`` seconds to finish, and `run` returns.
///
/// ```swift
/// import FastCGI
///
/// let server = FastCGIServer(configuration: .init(listen: .unix(path: "/run/app.sock"), workers: 4))
/// try server.run { request, response in
///     try response.write("hello from \(request.path)\n")
/// }
/// ```
public struct FastCGIServer: Sendable {
    /// How the server listens and what it accepts.
    ///
    /// ```swift
    /// var configuration = FastCGIServer.Configuration()
    /// configuration.maxBodySize = 1 << 20
    /// ```
    public struct Configuration: Sendable {
        /// Where to listen; nil: systemd's socket, else an inherited fd 0, else classic CGI.
        public var listen: ListenAddress?
        /// Worker threads, each serving one request at a time.
        public var workers: Int
        /// The listen queue's length.
        public var backlog: Int32 = 1024
        /// The largest request body accepted; longer ones get 413 Content Too Large.
        public var maxBodySize = 8 << 20
        /// The most fields a form may have (multipart parts count as fields); more get 413, as
        /// PHP's `max_input_vars` refuses them. It bounds what a small body can make the parser
        /// allocate: a million empty fields fit in 2 MB.
        public var maxFormFields = 1000
        /// Uploaded files larger than this go to temporary files instead of memory.
        public var uploadMemoryLimit = 64 << 10
        /// Where uploaded files are kept during their request: `$TMPDIR`, else `/tmp`.
        public var temporaryDirectory = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
        /// Whether `X-Forwarded-Proto: https` marks a request secure. Only set this when a proxy
        /// you trust sets that header: clients can send it too.
        public var trustForwardedProto = false
        /// Seconds that requests in flight get to finish after SIGTERM.
        public var gracePeriod = 10
        /// Where the server and its requests log. Nil, the default: the server's lines to stderr,
        /// each prefixed with the program's name and process id, and a request's lines to the
        /// web server's error log (the FastCGI error stream; stderr for classic CGI), prefixed
        /// with its method and URI. Set, every line goes to this logger, a request's with its
        /// method and URI as the `request` metadata.
        public var logger: Logger?
        /// Seconds a connection may send nothing while a worker waits to read from it; then the
        /// worker drops it and goes on. 0 waits for ever. nginx itself gives up on a FastCGI
        /// server that reads nothing for 60 s (`fastcgi_send_timeout`).
        public var readTimeout = 60
        /// Seconds a connection may take no bytes of the answer while a worker waits to write to
        /// it; then the worker drops it and goes on. 0 waits for ever. nginx reads answers as
        /// they come, but with `fastcgi_buffering off`, or past `fastcgi_max_temp_file_size`, it
        /// reads only as fast as its client does; nginx's own `send_timeout` is 60 s.
        public var writeTimeout = 60
        /// Seconds a request's body may take to arrive whole, however steadily it trickles in;
        /// then it is answered 408 and the worker goes on. 0 waits for ever. The read timeout
        /// alone lets a body that sends a byte a minute hold a worker for days.
        public var requestTimeout = 300
        /// Worker processes under a supervisor (with ``workers`` threads each); 1 runs the threads
        /// in this process, unsupervised, unless ``maxRequests`` is set.
        public var processes = 1
        /// Requests after which a worker process retires and the supervisor starts a fresh one.
        public var maxRequests: Int?
        /// The path the server answers with its status page itself (`--status-path`), as
        /// PHP-FPM's `pm.status_path`; nil: none.
        public var statusPath: String?
        /// The client addresses the status page answers (`--status-allow`): loopback unless set.
        public var statusAllow = try! AddressRanges("127.0.0.1,::1")

        /// Makes a configuration.
        ///
        /// ```swift
        /// let configuration = FastCGIServer.Configuration(listen: .tcp(host: "127.0.0.1", port: 9000), workers: 8)
        /// ```
        public init(listen: ListenAddress? = nil, workers: Int = 2) {
            self.listen = listen
            self.workers = workers
        }

        /// The read and write timeouts, as each connection gets them.
        var connectionTimeouts: ConnectionTimeouts { ConnectionTimeouts(read: readTimeout, write: writeTimeout) }
    }

    /// How this server listens and what it accepts.
    public var configuration: Configuration

    /// Makes a server with this configuration.
    ///
    /// ```swift
    /// let server = FastCGIServer(configuration: .init(workers: 4))
    /// ```
    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    /// Serves requests with `handler` until SIGTERM or SIGINT (or, as CGI, the one request).
    ///
    /// ```swift
    /// try FastCGIServer().run { request, response in try response.write("hi\n") }
    /// ```
    public func run(_ handler: @escaping @Sendable (Request, Response) throws -> Void) throws(ServerError) {
        try run(ClosureResponder(handler))
    }

    /// Serves requests with `responder` until SIGTERM or SIGINT (or, as CGI, the one request).
    ///
    /// Throws ``ServerError`` when it cannot listen (a taken port, an unwritable path) or when
    /// requests were still running at the end of the grace period.
    ///
    /// ```swift
    /// try FastCGIServer().run(MyApp())
    /// ```
    public func run(_ responder: some Responder) throws(ServerError) {
        ServerLog.use(configuration.logger)
        guard (1...1024).contains(configuration.workers) else {
            throw ServerError(.invalidArgument, "workers must be from 1 to 1024, not \(configuration.workers)")
        }
        guard let address = configuration.listen ?? ListeningSocket.systemdSocket()
                ?? (ListeningSocket.isListening(STDIN_FILENO) ? .inherited(descriptor: STDIN_FILENO) : nil) else {
            serveCGIRequest(responder)
            return
        }
        try serveFastCGI(on: address, responder)
    }

    /// Classic CGI: one request from the environment, stdin and stdout.
    private func serveCGIRequest(_ responder: some Responder) {
        signal(SIGPIPE, SIG_IGN)
        let transport = CGITransport()
        RequestCycle(transport: transport, parameters: CGITransport.parameters(), configuration: configuration, isCGI: true)
            .run(responder)
    }

    private func serveFastCGI(on address: ListenAddress, _ responder: some Responder) throws(ServerError) {
        let webServers = try WebServerAddresses(getenv("FCGI_WEB_SERVER_ADDRS").map { String(cString: $0) })
        // Whoever sees the socket accept may signal at once: until the signal pipe's handlers
        // are in place (each unblocks its signals), a stop waits rather than kills outright.
        var stops = sigset_t()
        sigemptyset(&stops)
        for number in [SIGTERM, SIGINT, SIGUSR1] { sigaddset(&stops, number) }
        pthread_sigmask(SIG_BLOCK, &stops, nil)
        let socket = try ListeningSocket(address, backlog: configuration.backlog)
        defer { socket.close() }
        // Room for two generations of processes: a reload runs the new beside the old.
        let board = try Scoreboard(processes: 2 * configuration.processes)
        if configuration.processes > 1 || configuration.maxRequests != nil {
            try Supervisor(configuration: configuration, address: address, board: board).run { () throws(ServerError) in
                try serveWorkers(on: socket.descriptor, address: address, webServers: webServers, board: board, responder)
            }
        } else {
            try serveWorkers(on: socket.descriptor, address: address, webServers: webServers, board: board, responder)
        }
    }

    /// Runs the worker threads of this process on the listening socket until SIGTERM or SIGINT
    /// (or retirement after ``Configuration/maxRequests``), then waits for them.
    private func serveWorkers(on descriptor: Int32, address: ListenAddress, webServers: WebServerAddresses, board: Scoreboard,
                              _ responder: some Responder) throws(ServerError) {
        let status = WorkerStatus(board: board)
        guard let statusPath = configuration.statusPath else {
            return try serveWorkers(on: descriptor, address: address, webServers: webServers, status: status, responder)
        }
        let page = StatusPage(application: responder, path: statusPath, allowed: configuration.statusAllow, board: board,
                              workersPerProcess: configuration.workers, listenDescriptor: descriptor)
        try serveWorkers(on: descriptor, address: address, webServers: webServers, status: status, page)
    }

    private func serveWorkers(on descriptor: Int32, address: ListenAddress, webServers: WebServerAddresses, status: WorkerStatus,
                              _ responder: some Responder) throws(ServerError) {
        guard FCGX_Init() == 0 else { throw ServerError(.cannotStart, "libfcgi failed to initialise") }
        Self.keepDescriptorsSelectable()
        let signals = try SignalPipe([SIGTERM, SIGINT, SIGUSR1])
        let shutdown = try ShutdownLatch()
        let finished = try CompletionPipe()
        let worker = FastCGIWorker(listenDescriptor: descriptor, shutdown: shutdown, configuration: configuration,
                                   webServers: webServers, responder: responder,
                                   budget: configuration.maxRequests.map(RequestBudget.init), status: status)
        for _ in 0..<configuration.workers {
            let connections = try ConnectionWait(listening: descriptor, shutdown: shutdown)
            do {
                try Threads.start(detached: true) {
                    worker.run(waitingOn: connections)
                    finished.signal()
                }
            } catch {
                throw ServerError(.cannotStart, "cannot start a worker thread: \(error)", errno: error.rawValue)
            }
        }
        logLine("listening on \(address) with \(configuration.workers) workers")
        // Until SIGTERM or SIGINT, or a worker that served the last of --max-requests raises the
        // latch itself; SIGUSR1 asks for the status meanwhile.
        while !shutdown.isRaised {
            let received = signals.wait(alsoFor: shutdown.descriptor, milliseconds: -1)
            if received.contains(SIGUSR1) { status.report(workers: configuration.workers, listenDescriptor: descriptor) }
            if received.contains(SIGTERM) || received.contains(SIGINT) { shutdown.raise() }
        }
        logLine("stopping: finishing requests in flight (grace period \(configuration.gracePeriod) s)")
        let unfinished = configuration.workers - finished.wait(for: configuration.workers, seconds: configuration.gracePeriod)
        guard unfinished == 0 else {
            throw ServerError(.gracePeriodExpired, "\(unfinished) requests were still running after the grace period of \(configuration.gracePeriod) s")
        }
        logLine("stopped")
    }

    /// libfcgi waits on connections with `select`, which overruns its fd_set for descriptors of
    /// FD_SETSIZE (1024) or more: keep the process below that.
    private static func keepDescriptorsSelectable() {
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur > rlim_t(FD_SETSIZE) else { return }
        limit.rlim_cur = rlim_t(FD_SETSIZE)
        setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
    }
}
