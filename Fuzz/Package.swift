// swift-tools-version: 6.0
import Foundation
import PackageDescription

// libFuzzer targets for Lamba's parsers. A package of its own, so that the root package's tests and
// executables are never linked with libFuzzer; `Fuzz/run` builds it with -sanitize=fuzzer,address.

// A path dependency's identity is its directory's name, which differs between checkouts.
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
let lamba = root.lastPathComponent

func lambaProduct(_ name: String) -> Target.Dependency { .product(name: name, package: lamba) }

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "LambaFuzz",
    platforms: [.macOS(.v15)],
    dependencies: [.package(path: "..")],
    targets: [
        .target(name: "FuzzSupport", dependencies: [
            lambaProduct("LambaJOSE"), lambaProduct("LambaModel"), lambaProduct("LambaOAuth"), lambaProduct("LambaStore"),
        ], swiftSettings: strict),
        .executableTarget(name: "FuzzJWT", dependencies: ["FuzzSupport", lambaProduct("LambaJOSE")], swiftSettings: strict),
        .executableTarget(name: "FuzzJSON", dependencies: ["FuzzSupport", lambaProduct("LambaJOSE")], swiftSettings: strict),
        .executableTarget(name: "FuzzForm", dependencies: ["FuzzSupport", lambaProduct("LambaOAuth"), lambaProduct("LambaServer")], swiftSettings: strict),
        .executableTarget(name: "FuzzCookie", dependencies: ["FuzzSupport", lambaProduct("LambaServer")], swiftSettings: strict),
        .executableTarget(name: "FuzzAuthorize", dependencies: [
            "FuzzSupport", lambaProduct("LambaOAuth"), lambaProduct("LambaModel"), lambaProduct("LambaJOSE"),
        ], swiftSettings: strict),
        .executableTarget(name: "FuzzRegistration", dependencies: [
            "FuzzSupport", lambaProduct("LambaOAuth"), lambaProduct("LambaModel"), lambaProduct("LambaJOSE"),
        ], swiftSettings: strict),
        .executableTarget(name: "FuzzJWK", dependencies: ["FuzzSupport", lambaProduct("LambaJOSE")], swiftSettings: strict),
    ]
)
