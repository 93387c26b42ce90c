// swift-tools-version:5.4
// 5.4, not newer: from 5.5 on, SwiftPM renames an executable's entry point and links `main` to it,
// which fails for a libFuzzer target (built -parse-as-library; libFuzzer's runtime provides main).
import Foundation
import PackageDescription

// libFuzzer targets for Lamba's parsers. A package of its own, so that the root package's tests and
// executables are never linked with libFuzzer; `Fuzz/run` builds it with -sanitize=fuzzer,address.

// A path dependency's identity is its directory's name, which differs between checkouts.
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
let lamba = root.lastPathComponent

func lambaProduct(_ name: String) -> Target.Dependency { .product(name: name, package: lamba) }

let package = Package(
    name: "LambaFuzz",
    dependencies: [.package(path: "..")],
    targets: [
        .target(name: "FuzzSupport", dependencies: [
            lambaProduct("LambaJOSE"), lambaProduct("LambaModel"), lambaProduct("LambaOAuth"), lambaProduct("LambaStore"),
        ]),
        .executableTarget(name: "FuzzJWT", dependencies: ["FuzzSupport", lambaProduct("LambaJOSE")]),
        .executableTarget(name: "FuzzJSON", dependencies: ["FuzzSupport", lambaProduct("LambaJOSE")]),
        .executableTarget(name: "FuzzForm", dependencies: ["FuzzSupport", lambaProduct("LambaOAuth")]),
        .executableTarget(name: "FuzzCookie", dependencies: ["FuzzSupport", lambaProduct("LambaOAuth")]),
        .executableTarget(name: "FuzzAuthorize", dependencies: [
            "FuzzSupport", lambaProduct("LambaOAuth"), lambaProduct("LambaModel"), lambaProduct("LambaJOSE"),
        ]),
        .executableTarget(name: "FuzzRegistration", dependencies: [
            "FuzzSupport", lambaProduct("LambaOAuth"), lambaProduct("LambaModel"), lambaProduct("LambaJOSE"),
        ]),
        .executableTarget(name: "FuzzJWK", dependencies: ["FuzzSupport", lambaProduct("LambaJOSE")]),
    ]
)
