// swift-tools-version: 6.2
import PackageDescription

let package = Package(
    name: "orchestrator",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "orchestrator", targets: ["orchestrator"]),
        .executable(name: "orchestrator-bench", targets: ["Benchmarks"]),
    ],
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-configuration", from: "1.4.0", traits: [.defaults, "YAML"]),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        // The lowest layer: the injected clock, Unix-time helpers, classified errors, POSIX file calls.
        .target(name: "Core"),
        // The job model (windows, leases, per-file results, the upload ledger) and the `JobStore`
        // protocol, with no storage engine: what the scheduler and the jobs program against.
        .target(name: "JobModel", dependencies: ["Core"]),
        // The SQLite implementation of `JobStore` and `UploadLedger`.
        .target(
            name: "Store",
            dependencies: ["JobModel", "Core", .product(name: "GRDB", package: "GRDB.swift")],
            resources: [
                .embedInCode("Migrations/0001_jobs.sql"),
                .embedInCode("Migrations/0002_multipart_uploads.sql"),
                .embedInCode("Migrations/0003_settled_windows.sql"),
                .embedInCode("Migrations/0004_dependency_health.sql"),
                .embedInCode("Migrations/0006_stream_spool.sql"),
            ]
        ),
        // Tencent Cloud: TC3 signing, Beijing time, the CDN API client and its messages, the rate limiter.
        .target(
            name: "TencentCloud",
            dependencies: [
                "Core", "JobModel",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
            ]
        ),
        // S3-compatible stores and COS: the client, SigV4 and COS signing, XML, error classification.
        .target(
            name: "ObjectStorage",
            dependencies: [
                "Core",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        // What a window does: download and verify, digests, key templates, the sinks, the transfer.
        .target(
            name: "Jobs",
            dependencies: [
                "Core", "JobModel", "TencentCloud", "ObjectStorage", "CZlib",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                // `NIOThreadPool`: the sinks' blocking file reads, copies and fsyncs run there.
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .target(
            name: "Scheduler",
            dependencies: [
                "Jobs", "JobModel", "Core",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The push receiver: the HTTP(S) endpoints CDNs stream logs to, the durable spool's use, sealing
        // hours into `stream` windows and the transfer that stores them.
        .target(
            name: "Ingest",
            dependencies: [
                "Core", "JobModel", "Jobs", "CZlib",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "CDNSimulator",
            dependencies: [
                "TencentCloud", "Core", "CZlib",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "orchestrator",
            dependencies: [
                "Scheduler", "Jobs", "JobModel", "Store", "TencentCloud", "ObjectStorage", "Core", "CDNSimulator", "Ingest",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "Benchmarks",
            dependencies: [
                "Scheduler", "Jobs", "JobModel", "Store", "TencentCloud", "ObjectStorage", "Core", "CDNSimulator", "Ingest", "CZlib",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Test doubles and servers shared by test targets: the manual clock, a real `rclone serve s3`
        // and a counting, faulting proxy.
        .target(
            name: "TestSupport",
            dependencies: [
                "Core", "Jobs", "ObjectStorage",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "Tests/TestSupport"
        ),
        .testTarget(name: "StoreTests", dependencies: ["Store", "JobModel", "Core", .product(name: "GRDB", package: "GRDB.swift")]),
        .testTarget(name: "JobsTests", dependencies: ["Jobs", "JobModel", "Store", "TencentCloud", "ObjectStorage", "Core",
            "CDNSimulator", "CZlib", "TestSupport", .product(name: "Hummingbird", package: "hummingbird")]),
        .testTarget(name: "SchedulerTests", dependencies: ["Scheduler", "Jobs", "JobModel", "Store", "TencentCloud", "Core",
            "CDNSimulator", "TestSupport"]),
        .testTarget(name: "CDNSimulatorTests", dependencies: ["CDNSimulator", "TencentCloud", "Jobs", "Core", "TestSupport",
            .product(name: "AsyncHTTPClient", package: "async-http-client")]),
        .testTarget(name: "IngestTests", dependencies: ["Ingest", "Store", "JobModel", "Jobs", "Core", "CZlib", "TestSupport",
            "ObjectStorage", .product(name: "AsyncHTTPClient", package: "async-http-client"), .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOSSL", package: "swift-nio-ssl")]),
        .testTarget(name: "OrchestratorTests", dependencies: ["Store", "JobModel", "Jobs", "ObjectStorage", "Core", "CDNSimulator", "TestSupport", "CZlib",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "Logging", package: "swift-log")]),
    ]
)
