internal import CFastCGI
import Glibc

/// The loop each worker thread runs: wait for a connection (or the next request on a kept-alive
/// one) or for shutdown, accept with libfcgi, serve, finish.
///
/// No mutex serialises accept: every worker polls the non-blocking listening socket and the one
/// that loses the race gets EAGAIN and polls again, so a client that connects and stalls holds
/// up only the worker reading from it.
struct FastCGIWorker: Sendable {
    let listenDescriptor: Int32
    let shutdownDescriptor: Int32
    let configuration: FastCGIServer.Configuration
    let responder: any Responder

    init(listenDescriptor: Int32, shutdownDescriptor: Int32, configuration: FastCGIServer.Configuration,
         responder: some Responder) {
        self.listenDescriptor = listenDescriptor
        self.shutdownDescriptor = shutdownDescriptor
        self.configuration = configuration
        self.responder = responder
    }

    func run() {
        // libfcgi's streams point back at their request: it must not move.
        let request = UnsafeMutablePointer<FCGX_Request>.allocate(capacity: 1)
        defer { request.deallocate() }
        FCGX_InitRequest(request, listenDescriptor, 0)
        defer { FCGX_Free(request, 1) }
        let transport = FastCGITransport(request)
        while waitForWork(request.pointee.ipcFd) {
            let status = FCGX_Accept_r(request)
            if status == -EAGAIN || status == -EWOULDBLOCK || status == -EINTR { continue }
            guard status >= 0 else {
                logLine("accept failed: \(errnoDescription(-status))")
                usleep(10_000)
                continue
            }
            RequestCycle(transport: transport, parameters: transport.parameters(), configuration: configuration, isCGI: false)
                .run(responder)
            FCGX_Finish_r(request)
        }
    }

    /// Waits until the listening socket, or the kept-alive connection if there is one, has
    /// something to read; false once shutdown began.
    private func waitForWork(_ connection: Int32) -> Bool {
        var descriptors = [
            pollfd(fd: shutdownDescriptor, events: Int16(POLLIN), revents: 0),
            pollfd(fd: connection >= 0 ? connection : listenDescriptor, events: Int16(POLLIN), revents: 0),
        ]
        while true {
            let ready = poll(&descriptors, 2, -1)
            if ready < 0, errno == EINTR { continue }
            return descriptors[0].revents == 0
        }
    }
}
