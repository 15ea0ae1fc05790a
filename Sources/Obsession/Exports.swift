// `import Obsession` brings the responder too: Request, Response, FastCGIServer.
@_exported import FastCGI
