import Glibc

/// The description of an errno value, as `strerror` gives it ("Permission denied").
func errnoDescription(_ code: Int32) -> String {
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
