// swift-tools-version: 6.0
import PackageDescription

// The strict settings Hummingbird builds with, on every Swift target (STYLE.md).
let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "Lamba",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "lamba", targets: ["lamba"]),
        .library(name: "LambaJOSE", targets: ["LambaJOSE"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // C libraries: each is imported by exactly one wrapper module below.
        .systemLibrary(name: "COpenSSL", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CJansson", pkgConfig: "jansson", providers: [.apt(["libjansson-dev"])]),
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CPostgres", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        .systemLibrary(name: "CArgon2", pkgConfig: "libargon2", providers: [.apt(["libargon2-dev"])]),

        .target(name: "LambaJOSE", dependencies: ["COpenSSL", "CJansson", "CArgon2"], swiftSettings: strict),
        .target(name: "LambaModel", dependencies: ["LambaJOSE"], swiftSettings: strict),
        .target(name: "LambaStore", dependencies: ["CSQLite", "LambaModel", "LambaJOSE"], swiftSettings: strict),
        .target(name: "LambaPostgres", dependencies: ["LambaStore", "CPostgres"], swiftSettings: strict),
        .executableTarget(
            name: "lamba",
            dependencies: [
                "LambaJOSE",
                "LambaStore",
                "LambaPostgres",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict
        ),

        .executableTarget(name: "lamba-jose-bench", dependencies: ["LambaJOSE"], path: "Benchmarks/JOSEBench", swiftSettings: strict),

        .testTarget(name: "LambaJOSETests", dependencies: ["LambaJOSE"], swiftSettings: strict),

        // Store contract tests; the helper is killed with SIGKILL mid-transaction by one of them.
        .target(name: "LambaStoreTestSupport", dependencies: ["LambaStore", "LambaPostgres"], path: "Tests/LambaStoreTestSupport", swiftSettings: strict),
        .executableTarget(name: "lamba-store-crash-helper", dependencies: ["LambaStore", "LambaPostgres"], path: "Tests/StoreCrashHelper", swiftSettings: strict),
        .testTarget(
            name: "LambaStoreTests",
            dependencies: ["LambaStore", "LambaPostgres", "LambaStoreTestSupport", "lamba-store-crash-helper"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "LambaModelTests",
            dependencies: ["LambaModel", "LambaJOSE", "LambaStore", "LambaPostgres", "LambaStoreTestSupport"],
            swiftSettings: strict
        ),
        .executableTarget(name: "lamba-store-bench", dependencies: ["LambaStore", "LambaPostgres", "LambaStoreTestSupport"], path: "Benchmarks/StoreBench", swiftSettings: strict),
    ]
)
