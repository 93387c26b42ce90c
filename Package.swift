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
        .library(name: "LambaPasswords", targets: ["LambaPasswords"]),
        // For the fuzz package in Fuzz/, which links the parsers without this package's tests.
        .library(name: "LambaModel", targets: ["LambaModel"]),
        .library(name: "LambaOAuth", targets: ["LambaOAuth"]),
        .library(name: "LambaStore", targets: ["LambaStore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
    ],
    targets: [
        // C libraries: each is imported by exactly one wrapper module below.
        .systemLibrary(name: "COpenSSL", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CJansson", pkgConfig: "jansson", providers: [.apt(["libjansson-dev"])]),
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CPostgres", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        .systemLibrary(name: "CArgon2", pkgConfig: "libargon2", providers: [.apt(["libargon2-dev"])]),
        .systemLibrary(name: "CMalloc"),
        .systemLibrary(name: "CQREncode", pkgConfig: "libqrencode", providers: [.apt(["libqrencode-dev"])]),

        .target(name: "LambaJOSE", dependencies: ["COpenSSL", "CJansson"], swiftSettings: strict),
        // Byte-level ASCII comparisons shared by the HTTP, OAuth and SQL parsers.
        .target(name: "LambaASCII", swiftSettings: strict),
        // Argon2id password hashing on its own threads; salts come from LambaJOSE's OpenSSL random.
        .target(name: "LambaPasswords", dependencies: ["CArgon2", "LambaJOSE"], swiftSettings: strict),
        // QR codes for authenticator-app enrolment, rendered as inline SVG on the server (libqrencode).
        .target(name: "LambaQRCode", dependencies: ["CQREncode"], swiftSettings: strict),
        .target(name: "LambaModel", dependencies: ["LambaJOSE", "LambaASCII", "LambaPasswords"], swiftSettings: strict),
        // WebAuthn Level 3 relying-party checks (registration, assertion) over LambaJOSE; framework-free.
        .target(name: "LambaWebAuthn", dependencies: ["LambaJOSE"], swiftSettings: strict),
        // Mail is rendered from swift-mustache templates (docs/account-recovery.md#mail-templates).
        .target(name: "LambaOAuth", dependencies: [
            "LambaModel", "LambaJOSE", "LambaASCII", "LambaPasswords", "LambaWebAuthn", .product(name: "Mustache", package: "swift-mustache"),
        ], swiftSettings: strict),
        .target(name: "LambaStore", dependencies: ["CSQLite", "LambaModel", "LambaJOSE", "LambaOAuth"], swiftSettings: strict),
        .target(name: "LambaPostgres", dependencies: ["LambaStore", "CPostgres"], swiftSettings: strict),
        // Email: the message, its MIME rendering, and transports (SMTP over SwiftNIO with swift-nio-ssl, a maildir).
        .target(name: "LambaMail", dependencies: [
            .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
        ], swiftSettings: strict),
        .target(name: "LambaServer", dependencies: [
            "LambaJOSE", "LambaASCII", "LambaModel", "LambaStore", "LambaPostgres", "LambaOAuth", "LambaMail", "LambaQRCode",
            .product(name: "Hummingbird", package: "hummingbird"), .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"), .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
        ], swiftSettings: strict),
        .executableTarget(
            name: "lamba",
            dependencies: [
                "LambaJOSE",
                "LambaPasswords",
                "LambaStore",
                "LambaPostgres",
                "LambaModel",
                "LambaOAuth",
                "LambaServer",
                "LambaMail",
                "CMalloc",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict
        ),

        .executableTarget(name: "lamba-jose-bench", dependencies: ["LambaJOSE"], path: "Benchmarks/JOSEBench", swiftSettings: strict),

        .testTarget(name: "LambaJOSETests", dependencies: ["LambaJOSE"], swiftSettings: strict),
        .testTarget(name: "LambaQRCodeTests", dependencies: ["LambaQRCode"], swiftSettings: strict),
        .testTarget(name: "LambaWebAuthnTests", dependencies: ["LambaWebAuthn", "LambaJOSE"], swiftSettings: strict),
        // Starts a real SMTP server (aiosmtpd, Tests/LambaMailTests/smtp_server.py) per test.
        .testTarget(name: "LambaMailTests", dependencies: ["LambaMail", "LambaStoreTestSupport"], exclude: ["smtp_server.py"], swiftSettings: strict),
        .testTarget(name: "LambaOAuthTests", dependencies: [
            "LambaOAuth", "LambaModel", "LambaStore", "LambaPostgres", "LambaStoreTestSupport", "LambaJOSE", "LambaPasswords",
        ], swiftSettings: strict),
        .testTarget(name: "LambaServerTests", dependencies: [
            "LambaServer", "LambaMail", "LambaJOSE", "LambaPasswords", "LambaModel", "LambaStore", "LambaPostgres", "LambaOAuth", "LambaStoreTestSupport",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdTesting", package: "hummingbird"),
        ], swiftSettings: strict),

        .testTarget(name: "LambaEventsTests", dependencies: [
            "LambaServer", "LambaStore", "LambaPostgres", "LambaStoreTestSupport", "LambaJOSE", "lamba", .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
        ], swiftSettings: strict),

        // Store contract tests; the helper is killed with SIGKILL mid-transaction by one of them.
        .target(name: "LambaStoreTestSupport", dependencies: ["LambaStore", "LambaPostgres"], path: "Tests/LambaStoreTestSupport", swiftSettings: strict),
        .executableTarget(name: "lamba-store-crash-helper", dependencies: ["LambaStore", "LambaPostgres"], path: "Tests/StoreCrashHelper", swiftSettings: strict),
        .testTarget(
            name: "LambaStoreTests",
            dependencies: ["LambaStore", "LambaOAuth", "LambaPostgres", "LambaStoreTestSupport", "lamba-store-crash-helper"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "LambaModelTests",
            dependencies: ["LambaModel", "LambaJOSE", "LambaPasswords", "LambaStore", "LambaPostgres", "LambaStoreTestSupport"],
            swiftSettings: strict
        ),
        .executableTarget(name: "lamba-events-bench", dependencies: [
            "LambaServer", "LambaStore", "LambaJOSE", .product(name: "Hummingbird", package: "hummingbird"),
        ], path: "Benchmarks/EventsBench", swiftSettings: strict),
        .executableTarget(name: "lamba-store-bench", dependencies: ["LambaStore", "LambaPostgres", "LambaStoreTestSupport"], path: "Benchmarks/StoreBench", swiftSettings: strict),
    ]
)
