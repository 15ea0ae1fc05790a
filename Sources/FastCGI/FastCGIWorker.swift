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
/// On a Unix socket the worker accepts connections itself and gives each the timeouts, then
/// hands it to libfcgi as it would a kept connection. libfcgi's own accept polls each Unix
/// connection, up to 2 s, before it reads from it: it drops one that sends nothing in that time,
/// but then waits for ever on one that stalls later. (TCP connections take the timeouts from the
/// listening socket, and libfcgi accepts them: it sets TCP_NODELAY and checks
/// `FCGI_WEB_SERVER_ADDRS`. After a connection it drops, libfcgi tries one accept of its own
/// before it returns, and may take the next Unix connection as it always did.)
struct FastCGIWorker: Sendable {
    let listenDescriptor: Int32
    /// Whether this worker accepts connections itself: on a Unix socket.
    let acceptsItself: Bool
    let shutdown: ShutdownSignal.Observer
    let configuration: FastCGIServer.Configuration
    let responder: any Responder
    /// The requests this process may still serve, with `maxRequests`.
    let budget: RequestBudget?
    let status: WorkerStatus

    init(listenDescriptor: Int32, acceptsItself: Bool, shutdown: ShutdownSignal.Observer,
         configuration: FastCGIServer.Configuration, responder: some Responder, budget: RequestBudget?, status: WorkerStatus) {
        self.listenDescriptor = listenDescriptor
        self.acceptsItself = acceptsItself
        self.shutdown = shutdown
        self.configuration = configuration
        self.responder = responder
        self.budget = budget
        self.status = status
    }

    /// Serves requests until shutdown, waiting for connections on `connections`, this worker's own.
    func run(waitingOn connections: ConnectionWait) {
        // libfcgi's streams point back at their request: it must not move.
        let request = UnsafeMutablePointer<FCGX_Request>.allocate(capacity: 1)
        defer { request.deallocate() }
        FCGX_InitRequest(request, listenDescriptor, 0)
        defer { FCGX_Free(request, 1) }
        let transport = FastCGITransport(request)
        while !shutdown.isTriggered {
            // A kept-alive connection (fastcgi_keep_conn) blocks libfcgi until its next
            // request: wait for that beside the shutdown pipe.
            let kept = request.pointee.ipcFd
            if kept >= 0, !waitIdly({ shutdown.wait(readable: kept, milliseconds: 1000) }) { break }
            let status = kept < 0 && acceptsItself ? acceptItself(into: request) : FCGX_Accept_r(request)
            if status == -EAGAIN || status == -EWOULDBLOCK {
                if !waitIdly({ connections.wait(milliseconds: 1000) }) { break }
                continue
            }
            if status == -EINTR { continue }
            guard status >= 0 else {
                logLine("accept failed: \(errnoDescription(-status))")
                usleep(10_000)
                continue
            }
            self.status.serving {
                RequestCycle(transport: transport, parameters: transport.parameters(), configuration: configuration, isCGI: false)
                    .run(responder)
                Self.abandonFailedOutput(of: request)
                if Self.webServerIsDone(with: request) { FCGX_Detach(request) }
                FCGX_Finish_r(request)
            }
            if let budget, budget.spend() {
                logLine("retiring after \(budget.limit) requests")
                ShutdownSignal.trigger()
            }
        }
    }

    /// Accepts the next connection on the Unix socket, gives it the timeouts and has libfcgi
    /// read its request: `FCGX_Accept_r`'s result, or minus the errno of a failed accept.
    private func acceptItself(into request: UnsafeMutablePointer<FCGX_Request>) -> Int32 {
        var connection: Int32
        repeat {
            connection = obsession_accept(listenDescriptor)
        } while connection < 0 && (errno == EINTR || errno == ECONNABORTED)
        guard connection >= 0 else { return -errno }
        configuration.connectionTimeouts.apply(to: connection)
        // libfcgi reads the next request from an open descriptor, as on a kept connection, and
        // closes it first unless it is marked kept; the request's begin record then says whether
        // it really is. Detached, a connection that times out or sends garbage before its request
        // is whole is closed at once, without libfcgi's wait of up to 2 s for a peer that has
        // stopped talking to close first.
        request.pointee.ipcFd = connection
        request.pointee.keepConnection = 1
        request.pointee.detached = 1
        let status = FCGX_Accept_r(request)
        // A request that arrived whole ends with the close webServerIsDone chooses.
        request.pointee.detached = 0
        return status
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
    private func waitIdly(_ wait: () -> ShutdownSignal.Observer.WaitResult) -> Bool {
        while true {
            switch wait() {
            case .readable: return true
            case .shutdown: return false
            case .timedOut: responder.idle()
            }
        }
    }
}
