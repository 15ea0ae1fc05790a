import Glibc

/// A listening socket made by us rather than by `FCGX_OpenSocket`, which calls `exit()` on
/// failure: here a taken port or an unwritable path is an error the caller can report.
struct ListeningSocket {
    let descriptor: Int32
    /// The Unix socket file to remove on close, if we made one.
    private let ownedPath: String?

    /// Binds and listens on `address`, or adopts an inherited socket after checking it listens.
    init(_ address: ListenAddress, backlog: Int32) throws(ServerError) {
        switch address {
        case .inherited(let descriptor):
            guard Self.isListening(descriptor) else {
                throw ServerError(.cannotListen, "descriptor \(descriptor) is not a listening socket")
            }
            self.descriptor = descriptor
            self.ownedPath = nil
        case .unix(let path, let mode):
            self.descriptor = try Self.bindUnix(path: path, mode: mode, backlog: backlog)
            self.ownedPath = path
        case .tcp(let host, let port):
            self.descriptor = try Self.bindTCP(host: host, port: port, backlog: backlog)
            self.ownedPath = nil
        }
        // Workers wait for the socket and then accept; a connection another worker took first
        // must give EAGAIN, not block the loser.
        _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK)
    }

    /// Closes the socket and removes the socket file we made.
    func close() {
        if let ownedPath { unlink(ownedPath) }
        Glibc.close(descriptor)
    }

    /// Whether `descriptor` is a socket in the listening state.
    static func isListening(_ descriptor: Int32) -> Bool {
        var accepting: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        return getsockopt(descriptor, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &length) == 0 && accepting != 0
    }

    /// The socket systemd passed by socket activation, if it was passed to this process.
    ///
    /// Reads and then clears `LISTEN_PID` and `LISTEN_FDS`, so child processes do not take
    /// the socket for theirs.
    static func systemdSocket() -> ListenAddress? {
        guard let pid = getenv("LISTEN_PID").map({ String(cString: $0) }),
              let count = getenv("LISTEN_FDS").map({ String(cString: $0) }) else { return nil }
        unsetenv("LISTEN_PID")
        unsetenv("LISTEN_FDS")
        unsetenv("LISTEN_FDNAMES")
        guard Int32(pid) == getpid(), let number = Int(count), number >= 1 else { return nil }
        return .inherited(descriptor: 3)
    }

    private static func bindUnix(path: String, mode: UInt32, backlog: Int32) throws(ServerError) -> Int32 {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard path.utf8.count < capacity else {
            throw ServerError(.cannotListen, "cannot bind \(path): the path is longer than \(capacity - 1) bytes")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { bytes in
            bytes.copyBytes(from: path.utf8)
            bytes[path.utf8.count] = 0
        }
        try removeStaleSocket(path, address: address)
        let descriptor = try systemCall("cannot make a socket for \(path)", code: .cannotListen) {
            socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        }
        do {
            _ = try withUnsafePointer(to: &address) { pointer throws(ServerError) in
                try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress throws(ServerError) in
                    try systemCall("cannot bind \(path)", code: .cannotListen) {
                        bind(descriptor, socketAddress, socklen_t(MemoryLayout<sockaddr_un>.size))
                    }
                }
            }
            try systemCall("cannot set the mode of \(path)", code: .cannotListen) { chmod(path, mode_t(mode)) }
            try systemCall("cannot listen on \(path)", code: .cannotListen) { listen(descriptor, backlog) }
        } catch {
            Glibc.close(descriptor)
            throw error
        }
        return descriptor
    }

    /// Removes a socket file that no server answers on; refuses to touch a live socket or a
    /// file that is not a socket.
    private static func removeStaleSocket(_ path: String, address: sockaddr_un) throws(ServerError) {
        var status = stat()
        guard lstat(path, &status) == 0 else { return }
        guard status.st_mode & S_IFMT == S_IFSOCK else {
            throw ServerError(.cannotListen, "cannot bind \(path): a file that is not a socket is in the way")
        }
        let probe = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        defer { Glibc.close(probe) }
        var address = address
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(probe, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) == 0
            }
        }
        if connected {
            throw ServerError(.cannotListen, "cannot bind \(path): another server is listening there", errno: EADDRINUSE)
        }
        unlink(path)
    }

    private static func bindTCP(host: String, port: UInt16, backlog: Int32) throws(ServerError) -> Int32 {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV
        var list: UnsafeMutablePointer<addrinfo>?
        let shown = ListenAddress.tcp(host: host, port: port).description
        let status = getaddrinfo(host, String(port), &hints, &list)
        guard status == 0, let first = list else {
            throw ServerError(.cannotListen, "cannot resolve \(shown): \(String(cString: gai_strerror(status)).lowercased())")
        }
        defer { freeaddrinfo(list) }
        let info = first.pointee
        let descriptor = try systemCall("cannot make a socket for \(shown)", code: .cannotListen) {
            socket(info.ai_family, info.ai_socktype | Int32(SOCK_CLOEXEC.rawValue), info.ai_protocol)
        }
        do {
            var on: Int32 = 1
            setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
            if info.ai_family == AF_INET6 {
                setsockopt(descriptor, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &on, socklen_t(MemoryLayout<Int32>.size))
            }
            try systemCall("cannot bind \(shown)", code: .cannotListen) { bind(descriptor, info.ai_addr, info.ai_addrlen) }
            try systemCall("cannot listen on \(shown)", code: .cannotListen) { listen(descriptor, backlog) }
        } catch {
            Glibc.close(descriptor)
            throw error
        }
        return descriptor
    }
}
