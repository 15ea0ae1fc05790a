@testable import FastCGI

extension BufferTransport {
    /// A request over this transport, for the parsers' tests.
    func request(_ parameters: CGIParameters, configuration: FastCGIServer.Configuration = .init()) -> Request {
        Request(parameters: parameters, transport: self, configuration: configuration, isCGI: false)
    }
}
