import Glibc

/// The description of an errno value, as `strerror` gives it but in lower case ("permission
/// denied"), to end a sentence of ours; by default the current `errno`'s. Shared with the
/// Obsession module, not public.
package func errnoDescription(_ code: Int32 = errno) -> String {
    String(cString: strerror(code)).lowercased()
}

/// Calls a system function that returns -1 and sets `errno` on failure, retrying on `EINTR`.
///
/// Returns the call's result, or throws ``ServerError`` with the given code and a message that
/// names what was being done ("cannot bind /run/app.sock").
@discardableResult
func systemCall<T: BinaryInteger>(
    _ what: @autoclosure () -> String, code: ServerError.Code, _ call: () -> T
) throws(ServerError) -> T {
    while true {
        let result = call()
        if result != -1 { return result }
        let error = errno
        if error == EINTR { continue }
        throw ServerError(code, "\(what()): \(errnoDescription(error))", errno: error)
    }
}

/// A pipe whose ends close on exec and never block: what a signal handler writes to and a
/// thread polls. `purpose` names it in the error ("the shutdown pipe").
func makePipe(_ purpose: String) throws(ServerError) -> (read: Int32, write: Int32) {
    var ends: [Int32] = [-1, -1]
    try systemCall("cannot make \(purpose)", code: .cannotStart) { pipe(&ends) }
    for end in ends {
        _ = fcntl(end, F_SETFD, FD_CLOEXEC)
        _ = fcntl(end, F_SETFL, O_NONBLOCK)
    }
    return (ends[0], ends[1])
}

/// Points `signals` at `handler`, restarting the calls they interrupt, and unblocks them in this
/// thread and the threads it starts: a parent may have started us with them blocked (the mask
/// survives exec).
func handleSignals(_ signals: [Int32], with handler: @convention(c) (Int32) -> Void) {
    var action = sigaction()
    action.__sigaction_handler.sa_handler = handler
    sigemptyset(&action.sa_mask)
    action.sa_flags = SA_RESTART
    var unblocked = sigset_t()
    sigemptyset(&unblocked)
    for number in signals {
        sigaction(number, &action, nil)
        sigaddset(&unblocked, number)
    }
    pthread_sigmask(SIG_UNBLOCK, &unblocked, nil)
}
