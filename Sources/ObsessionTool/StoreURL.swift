import ArgumentParser
import Obsession
import ObsessionPHP
import ObsessionRedis

/// The store a `--store URL` names, as the tool opens it:
///
/// - `file:/var/lib/app/sessions?fan-out=2&prefix=s_`: our file store;
/// - `redis://[user:password@]host:port/db`, `unix:///run/redis.sock?db=0`: our Redis store;
/// - `php:/var/lib/php/sessions` (PHP's `N;MODE;/path` save path too): PHP's session files.
struct StoreURL: ExpressibleByArgument {
    let text: String
    let open: @Sendable () throws -> any SessionBackend

    init?(argument: String) {
        text = argument
        if argument.hasPrefix("redis://") || argument.hasPrefix("unix://") {
            open = { RedisBackend(try RedisServer(url: argument)) }
        } else if argument.hasPrefix("php:") {
            let savePath = String(argument.dropFirst(4))
            open = { try PHPFileBackend(savePath: savePath) }
        } else if argument.hasPrefix("file:") {
            var rest = argument.dropFirst(5)
            if rest.hasPrefix("//") { rest = rest.dropFirst(2) }
            let parts = rest.split(separator: "?", maxSplits: 1)
            guard let path = parts.first, path.hasPrefix("/") else { return nil }
            var fanOut = 0, prefix = "s_"
            for item in parts.count > 1 ? parts[1].split(separator: "&") : [] {
                let pair = item.split(separator: "=", maxSplits: 1).map(String.init)
                guard pair.count == 2 else { return nil }
                switch pair[0] {
                case "fan-out": guard let value = Int(pair[1]), (0...2).contains(value) else { return nil }; fanOut = value
                case "prefix": guard !pair[1].isEmpty, pair[1].utf8.count <= 64,
                                     pair[1].allSatisfy({ $0.isLetter || $0.isNumber || "._-".contains($0) }) else { return nil }
                               prefix = pair[1]
                default: return nil
                }
            }
            let (directory, levels, namePrefix) = (String(path), fanOut, prefix)
            open = { FileBackend(directory: directory, prefix: namePrefix, fanOut: levels) }
        } else {
            return nil
        }
    }

    static var defaultValueDescription: String { "file:/path[?fan-out=N&prefix=P] | redis://… | unix:///…?db=N | php:/path" }
}

/// `--store`, every subcommand's.
struct StoreOption: ParsableArguments {
    @Option(help: ArgumentHelp("The store: file:/path?fan-out=2, redis://user:password@host:6379/0, unix:///run/redis.sock, php:/var/lib/php/sessions.",
                               valueName: "url"))
    var store: StoreURL

    func open() throws -> any SessionBackend { try store.open() }
}
