internal import CFastCGI
import Glibc

/// The loop each worker thread runs: accept, serve, finish; wait only when there is nothing to
/// accept.
///
/// No mutex serialises accept. The listening socket is non-blocking: under load a connection is
/// already queued and accept takes it at once; when none is, the worker waits on its
/// ``ConnectionWait`` for the socket or the shutdown pipe, and a worker that loses the race for a
/// connection gets EAGAIN and waits again. So a client that connects and stalls holds up only
/// the worker reading from it, and SIGTERM wakes every idle worker.
///
/// The worker accepts each connection itself and hands it to libfcgi as it would a kept one:
/// so every connection closes on exec and gets the read and write timeouts, and a TCP one gets
/// TCP_NODELAY and the `FCGI_WEB_SERVER_ADDRS` check, as libfcgi's accept gives them. libfcgi
/// never accepts: its request has no listening socket. Its own accept would wait on a Unix
/// connection for up to 2 s and then read it with no timeout, and it would take the next
/// connection itself after one it dropped.
struct FastCGIWorker: Sendable {
    let listenDescriptor: Int32
    let shutdown: ShutdownLatch
    let configuration: FastCGIServer.Configuration
    let webServers: WebServerAddresses
    let responder: any Responder
    /// The requests this process may still serve, with `maxRequests`.
    let budget: RequestBudget?
    let status: WorkerStatus

    init(listenDescriptor: Int32, shutdown: ShutdownLatch, configuration: FastCGIServer.Configuration,
         webServers: WebServerAddresses, responder: some Responder, budget: RequestBudget?, status: WorkerStatus) {
        self.listenDescriptor = listenDescriptor
        self.shutdown = shutdown
        self.configuration = configuration
        self.webServers = webServers
        self.responder = responder
        self.budget = budget
        self.status = status
    }

    /// Serves requests until shutdown, waiting for connections on `connections`, this worker's own.
    func run(waitingOn connections: ConnectionWait) {
        // libfcgi's streams point back at their request: it must not move.
        let request = UnsafeMutablePointer<FCGX_Request>.allocate(capacity: 1)
        defer { request.deallocate() }
        FCGX_InitRequest(request, -1, 0)
        defer { FCGX_Free(request, 1) }
        let transport = FastCGITransport(request, readTimeout: configuration.readTimeout)
        while !shutdown.isRaised {
            if request.pointee.ipcFd < 0 {
                let connection = accept()
                if connection == -EAGAIN || connection == -EWOULDBLOCK {
                    if !waitIdly({ connections.wait(milliseconds: 1000) }) { break }
                    continue
                }
                guard connection >= 0 else {
                    logLine("accept failed: \(errnoDescription(-connection))")
                    usleep(10_000)
                    continue
                }
                request.pointee.ipcFd = connection
            } else if !waitIdly({ shutdown.wait(readable: request.pointee.ipcFd, milliseconds: 1000) }) {
                // A kept-alive connection (fastcgi_keep_conn) waits for its next request beside
                // the shutdown pipe.
                break
            }
            guard Self.readRequest(into: request) else { continue }
            self.status.serving {
                RequestCycle(transport: transport, parameters: transport.parameters(), configuration: configuration, isCGI: false)
                    .run(responder)
                Self.abandonFailedOutput(of: request)
                if Self.webServerIsDone(with: request) { FCGX_Detach(request) }
                FCGX_Finish_r(request)
            }
            responder.idle()
            if let budget, budget.spend() {
                logLine("retiring after \(budget.limit) requests")
                shutdown.raise()
            }
        }
    }

    /// The next connection, ready for libfcgi; minus the errno if accept failed (EAGAIN when
    /// none is waiting). A TCP connection from an address `FCGI_WEB_SERVER_ADDRS` does not list
    /// is closed, and the next one taken.
    private func accept() -> Int32 {
        while true {
            var peer = sockaddr_storage()
            let connection = obsession_accept(listenDescriptor, &peer)
            guard connection >= 0 else {
                if errno == EINTR || errno == ECONNABORTED { continue }
                return -errno
            }
            let isTCP = Int32(peer.ss_family) == AF_INET || Int32(peer.ss_family) == AF_INET6
            if isTCP {
                guard webServers.allows(peer) else {
                    close(connection)
                    continue
                }
                // Answers leave in whole records, with nothing to wait for from the web server.
                var on: Int32 = 1
                _ = setsockopt(connection, Int32(IPPROTO_TCP), TCP_NODELAY, &on, socklen_t(MemoryLayout<Int32>.size))
            }
            configuration.connectionTimeouts.apply(to: connection)
            return connection
        }
    }

    /// Has libfcgi read the next request from the open connection; false when the connection
    /// ended, timed out or sent garbage instead, and libfcgi closed it.
    ///
    /// libfcgi reads from an open descriptor as from a kept connection, and closes it first
    /// unless it is marked kept; the request's begin record then says whether it really is.
    /// Detached, a connection that fails before its request is whole is closed at once, without
    /// libfcgi's wait of up to 2 s for a peer that has stopped talking to close first.
    private static func readRequest(into request: UnsafeMutablePointer<FCGX_Request>) -> Bool {
        request.pointee.keepConnection = 1
        request.pointee.detached = 1
        let status = FCGX_Accept_r(request)
        // A request that arrived whole ends with the close webServerIsDone chooses.
        request.pointee.detached = 0
        return status == 0
    }

    /// Whether the web server has sent all it will on this connection: the request's input read
    /// to its end (this reads its closing record, if a body left it), nothing arrived after it,
    /// and the connection not kept for another request.
    ///
    /// libfcgi ends a connection by shutting down its side and waiting, up to 2 s, for the web
    /// server to close first, because data arriving after a close makes the kernel reset the
    /// connection, which can destroy the response in flight. The worker sits out that round trip
    /// on every request. When the web server is done nothing more can arrive, and FCGX_Detach
    /// tells libfcgi to close at once: the bare C responder serves 1.24 times the requests a second
    /// this way (8 alternating rounds behind nginx).
    private static func webServerIsDone(with request: UnsafeMutablePointer<FCGX_Request>) -> Bool {
        guard request.pointee.keepConnection == 0, let input = request.pointee.in else { return false }
        // A body read up to its CONTENT_LENGTH leaves the stream's closing record behind it: read
        // that (a byte instead means more was sent than announced, or the body was left unread).
        if FCGX_HasSeenEOF(input) == 0, FCGX_GetChar(input) >= 0 { return false }
        return FCGX_HasSeenEOF(input) != 0 && obsession_unread_bytes(request.pointee.ipcFd) == 0
    }

    /// After a write to the web server failed (it went away, or took nothing for the write
    /// timeout), keeps libfcgi from flushing the answer and error streams once more at finish:
    /// nothing more can reach the web server, and each flush could wait out the timeout again.
    private static func abandonFailedOutput(of request: UnsafeMutablePointer<FCGX_Request>) {
        guard let output = request.pointee.out, output.pointee.FCGI_errno != 0 else { return }
        output.pointee.wasFCloseCalled = 1
        request.pointee.err?.pointee.wasFCloseCalled = 1
    }

    /// Waits with `wait` until it reports something readable, giving the responder its idle call
    /// each time it times out; false once shutdown began.
    private func waitIdly(_ wait: () -> ShutdownLatch.WaitResult) -> Bool {
        while true {
            switch wait() {
            case .readable: return true
            case .shutdown: return false
            case .timedOut: responder.idle()
            }
        }
    }
}
