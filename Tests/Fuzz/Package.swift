// swift-tools-version:6.0
// `make fuzz`: hostile requests through the library under libFuzzer and AddressSanitizer. A
// package of its own, since only this program is built with -sanitize=fuzzer.
import Foundation
import PackageDescription

/// The library's package identity: the name of the directory it was cloned into.
let library = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().lastPathComponent

let package = Package(
    name: "fuzz",
    dependencies: [.package(path: "../..")],
    targets: [
        .target(name: "LibFuzzer"),
        .executableTarget(name: "fuzz", dependencies: [
            "LibFuzzer",
            .product(name: "Obsession", package: library),
            .product(name: "FastCGI", package: library),
            .product(name: "ObsessionPHP", package: library),
            .product(name: "ObsessionPerl", package: library),
        ]),
    ]
)
