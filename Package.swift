// swift-tools-version:6.0
import PackageDescription

/// Settings shared by every Swift target: Swift 6 language mode is the default for this
/// tools version; imports are internal unless a file says otherwise, so no C type leaks
/// into a public declaration by accident.
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "Obsession",
    products: [
        .library(name: "FastCGI", targets: ["FastCGI"]),
        .library(name: "Obsession", targets: ["Obsession"]),
        // Sessions on Redis, a product of its own: a program on files links no hiredis.
        .library(name: "ObsessionRedis", targets: ["ObsessionRedis"]),
        // PHP's session formats, for a site moving from PHP page by page.
        .library(name: "ObsessionPHP", targets: ["ObsessionPHP"]),
        // Perl's CGI::Session files, likewise.
        .library(name: "ObsessionPerl", targets: ["ObsessionPerl"]),
        .executable(name: "hello", targets: ["hello"]),
        .executable(name: "demo", targets: ["demo"]),
        .executable(name: "obsession", targets: ["ObsessionLauncher"]),
        .executable(name: "obsession-tool", targets: ["ObsessionTool"]),
        // What `make install` puts where a single-file script links against.
        .library(name: "ObsessionStatic", type: .static, targets: ["Obsession"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CFastCGI",
            pkgConfig: "fcgi",
            providers: [.apt(["libfcgi-dev"])]
        ),
        .target(name: "FastCGI", dependencies: ["CFastCGI", .product(name: "Logging", package: "swift-log")],
                swiftSettings: swiftSettings),
        .target(name: "Obsession", dependencies: ["FastCGI", "CFastCGI"], swiftSettings: swiftSettings),
        .systemLibrary(
            name: "CHiredis",
            providers: [.apt(["libhiredis-dev"])]
        ),
        .target(name: "ObsessionRedis", dependencies: ["Obsession", "ObsessionPHP", "FastCGI", "CHiredis"], swiftSettings: swiftSettings),
        .target(name: "ObsessionPHP", dependencies: ["Obsession", "FastCGI"], swiftSettings: swiftSettings),
        .target(name: "ObsessionPerl", dependencies: ["Obsession", "FastCGI"], swiftSettings: swiftSettings),
        .executableTarget(name: "ObsessionLauncher"),
        .executableTarget(name: "ObsessionTool", dependencies: [
            "Obsession", "ObsessionRedis", "ObsessionPHP", "FastCGI", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], swiftSettings: swiftSettings),
        .executableTarget(
            name: "hello", dependencies: ["FastCGI"], path: "Examples/hello",
            swiftSettings: swiftSettings),
        .executableTarget(
            name: "demo", dependencies: ["Obsession", "ObsessionRedis", "ObsessionPHP", "ObsessionPerl", "FastCGI"], path: "Examples/demo",
            swiftSettings: swiftSettings),
        .executableTarget(
            name: "migration", dependencies: ["Obsession", "ObsessionPHP", "FastCGI"], path: "Examples/migration/swift",
            swiftSettings: swiftSettings),
        .executableTarget(
            name: "backend-loop", dependencies: ["Obsession", "FastCGI"], path: "Benchmarks/backend-loop",
            swiftSettings: swiftSettings),
        // Three test targets: the responder, sessions, and integration (real servers), and the
        // helpers they share.
        // Its imports stay public, as the helpers' declarations use the imported types.
        .target(name: "TestSupport", dependencies: ["FastCGI", "Obsession", "ObsessionRedis"], path: "Tests/TestSupport"),
        .testTarget(name: "ResponderTests", dependencies: ["FastCGI", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "SessionTests", dependencies: ["FastCGI", "Obsession", "ObsessionRedis", "ObsessionPHP", "ObsessionPerl",
                                                          "TestSupport"],
                    swiftSettings: swiftSettings),
        .testTarget(name: "IntegrationTests", dependencies: ["FastCGI", "Obsession", "TestSupport"], swiftSettings: swiftSettings),
    ]
)
