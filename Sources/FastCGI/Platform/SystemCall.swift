/// Calls a system function through ``retryingInterrupts(_:)`` and turns its failure into a
/// ``ServerError`` with the given code, a message that names what was being done ("cannot
/// bind /run/app.sock: permission denied"), and the errno.
///
/// ```swift
/// try systemCall("cannot listen on \(path)", code: .cannotListen) { listen(descriptor, backlog) }
/// ```
@discardableResult
func systemCall<T: BinaryInteger>(
    _ what: @autoclosure () -> String, code: ServerError.Code, _ call: () -> T
) throws(ServerError) -> T {
    do {
        return try retryingInterrupts(call)
    } catch {
        throw ServerError(code, "\(what()): \(error)", errno: error.rawValue)
    }
}
