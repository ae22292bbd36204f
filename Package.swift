// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "callvault",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "callvault", targets: ["callvault"]),
    ],
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-asn1", from: "1.7.4"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.1"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth", from: "2.5.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/weichsel/ZIPFoundation", from: "0.9.20"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
    ],
    targets: [
        .systemLibrary(
            name: "CSndFile",
            pkgConfig: "sndfile",
            providers: [.apt(["libsndfile1-dev"])]
        ),
        .systemLibrary(name: "CSyscalls"),
        // No pkgConfig: its cflags carry -D flags that SwiftPM refuses (a warning); the header defaults to float.
        .systemLibrary(name: "CKissFFT", providers: [.apt(["libkissfft-dev"])]),
        .systemLibrary(name: "CSampleRate", pkgConfig: "samplerate", providers: [.apt(["libsamplerate0-dev"])]),
        .target(
            name: "CallVaultCore",
            dependencies: [.product(name: "TOMLKit", package: "TOMLKit"), .product(name: "Crypto", package: "swift-crypto")]
        ),
        // Evidence bags (BagIt, RFC 8493) and their verification, which a recipient runs without a store.
        .target(
            name: "CallVaultEvidence",
            dependencies: ["CallVaultCore", .product(name: "Crypto", package: "swift-crypto"), .product(name: "SwiftASN1", package: "swift-asn1"),
                           .product(name: "X509", package: "swift-certificates")]
        ),
        .target(
            name: "CallVaultAudio",
            dependencies: ["CSndFile", "CKissFFT", "CSampleRate", "CallVaultCore", .product(name: "Crypto", package: "swift-crypto")]
        ),
        .target(
            name: "CallVaultStore",
            dependencies: [
                "CallVaultCore",
                "CSyscalls",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // The shared catalog engine (issue 12): the catalog's SQL surface over postgres-nio.
        .target(
            name: "CallVaultPostgres",
            dependencies: [
                "CallVaultCore", "CallVaultStore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        .target(
            name: "CallVault",
            dependencies: [
                "CallVaultCore", "CallVaultAudio", "CallVaultStore", "CallVaultPostgres", "CallVaultEvidence",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
            ]
        ),
        // The web app (`callvault serve`): a thin shell over the CallVault use cases, like the CLI. Neither front end
        // depends on CallVaultStore: they see the use cases' view values, never a catalog row.
        .target(
            name: "CallVaultWeb",
            dependencies: [
                "CallVault", "CallVaultCore", "CallVaultAudio",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "ZIPFoundation", package: "ZIPFoundation"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .target(
            name: "CallVaultDaemon",
            dependencies: [
                "CallVault", "CallVaultCore", "CallVaultStore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
            ]
        ),
        .executableTarget(
            name: "callvault",
            dependencies: [
                "CallVault", "CallVaultDaemon", "CallVaultWeb", "CallVaultEvidence",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The suite's today (shifted by CALLVAULT_TEST_SHIFT_DAYS) and the dates written relative to it.
        .target(name: "CallVaultTesting", dependencies: ["CallVaultCore"]),
        .testTarget(name: "CallVaultCoreTests", dependencies: ["CallVaultCore", "CallVaultTesting"]),
        .testTarget(name: "CallVaultTests", dependencies: ["CallVault", "CallVaultStore", "CallVaultAudio", "CallVaultTesting"]),
        .testTarget(name: "WebTests", dependencies: [
            "CallVaultWeb", "CallVault", "CallVaultCore", "CallVaultStore", "CallVaultTesting",
            .product(name: "HummingbirdTesting", package: "hummingbird"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "NIOCore", package: "swift-nio"),
        ]),
        .testTarget(name: "CLITests", dependencies: ["CallVaultCore", "CallVaultStore", "CallVaultPostgres", "CallVaultAudio", "CallVaultTesting"]),
    ]
)
