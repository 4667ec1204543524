// swift-tools-version: 6.2
import PackageDescription

let package = Package(
    name: "orchestrator",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "orchestrator", targets: ["orchestrator"]),
        .executable(name: "orchestrator-bench", targets: ["Benchmarks"]),
    ],
    traits: [
        .trait(name: "ISAL", description: "Intel ISA-L (libisal-dev) for gzip and CRC-64; without it, zlib and a CRC-64 table in Swift"),
        .default(enabledTraits: ["ISAL"]),
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
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        // swift-configuration's own YAML parser, used directly to list a file's keys (unknown keys are
        // errors) and to report syntax errors without quoting the file's lines.
        .package(url: "https://github.com/jpsim/Yams", "5.4.0"..<"7.0.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        // The PostgreSQL store's client: several hosts share one queue.
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
    ],
    targets: [
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        // Intel ISA-L: the gzip inflate that verifies packages, the receiver's inflate and deflate, and
        // CRC-64/XZ, several times faster than zlib and a table in Swift. Used with the `ISAL` trait (on
        // by default); `--disable-default-traits` builds with zlib and the table instead, where ISA-L is
        // missing.
        .systemLibrary(name: "CISAL", path: "Sources/CISAL", pkgConfig: "libisal", providers: [.apt(["libisal-dev"])]),
        // The receiver's fast path for flat log lines (AVX2 bit masks, C intrinsics), with the general
        // scanner in `Ingest` for everything else and on processors without AVX2.
        .target(name: "CLineScan"),
        // POLYVAL (RFC 8452), the universal hash under the receiver's body digest: carry-less
        // multiplication (C intrinsics) where the processor has it, portable C otherwise.
        .target(name: "CPolyval"),
        // CRC-32 for gzip members, folded with 256-bit carry-less multiplication where the processor
        // has it (ISA-L's own folds 128 bits at a time without AVX-512), zlib's otherwise.
        .target(name: "CCRC32", dependencies: ["CZlib"]),
        // The lowest layer: the injected clock, Unix-time helpers, classified errors, POSIX file calls.
        .target(name: "Core"),
        // The job model (windows, leases, per-file results, the upload ledger) and the `JobStore`
        // protocol, with no storage engine: what the scheduler and the jobs program against.
        .target(name: "JobModel", dependencies: ["Core"]),
        // The SQLite implementation of `JobStore` and `UploadLedger`.
        .target(
            name: "Store",
            dependencies: [
                "JobModel", "Core", .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
            ],
            resources: [
                .embedInCode("Migrations/0001_jobs.sql"),
                .embedInCode("Migrations/0002_multipart_uploads.sql"),
                .embedInCode("Migrations/0003_settled_windows.sql"),
                .embedInCode("Migrations/0004_dependency_health.sql"),
                .embedInCode("Migrations/0005_stored_etags.sql"),
                .embedInCode("Migrations/0006_stream_spool.sql"),
                .embedInCode("Migrations/0007_lean_jobs.sql"),
                .embedInCode("Migrations/0008_stream_part_files.sql"),
                .embedInCode("Migrations/0009_job_state_check.sql"),
                .embedInCode("Migrations/0010_keyed_body_digests.sql"),
            ]
        ),
        // The PostgreSQL implementation of `JobStore`, `UploadLedger` and `RecordedFileLookup`, with
        // migrations of its own: what several hosts sharing one queue use.
        .target(
            name: "PostgresStore",
            dependencies: [
                "JobModel", "Core",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            resources: [
                .embedInCode("Migrations/0001_schema.sql"),
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
                .product(name: "Metrics", package: "swift-metrics"),
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
                "Core", "JobModel", "TencentCloud", "ObjectStorage", "CZlib", .target(name: "CISAL", condition: .when(traits: ["ISAL"])),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                // `NIOThreadPool`: the sinks' blocking file reads, copies and fsyncs run there.
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Metrics", package: "swift-metrics"),
            ]
        ),
        .target(
            name: "Scheduler",
            dependencies: [
                "Jobs", "JobModel", "Core",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The push receiver: the HTTP(S) endpoints CDNs stream logs to, the durable spool's use, sealing
        // hours into `stream` windows and the transfer that stores them.
        .target(
            name: "Ingest",
            dependencies: [
                "Core", "JobModel", "Jobs", "CZlib", "CLineScan", "CPolyval", "CCRC32", .target(name: "CISAL", condition: .when(traits: ["ISAL"])),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
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
                "Scheduler", "Jobs", "JobModel", "Store", "PostgresStore", "TencentCloud", "ObjectStorage", "Core", "CDNSimulator", "Ingest",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        .executableTarget(
            name: "Benchmarks",
            dependencies: [
                "Scheduler", "Jobs", "JobModel", "Store", "PostgresStore", "TencentCloud", "ObjectStorage", "Core", "CDNSimulator", "Ingest",
                // `SenderLog`: the benchmark posts the same lines as the ingest tests.
                "TestSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Test doubles and servers shared by test targets: the manual clock, a real `rclone serve s3`
        // and a counting, faulting proxy.
        .target(
            name: "TestSupport",
            dependencies: [
                "Core", "Jobs", "ObjectStorage", "CZlib",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "Tests/TestSupport"
        ),
        .testTarget(name: "StoreTests", dependencies: ["Store", "PostgresStore", "JobModel", "Core", "TestSupport", .product(name: "GRDB", package: "GRDB.swift")]),
        .testTarget(name: "JobsTests", dependencies: ["Jobs", "JobModel", "Store", "TencentCloud", "ObjectStorage", "Core",
            "CDNSimulator", "CZlib", .target(name: "CISAL", condition: .when(traits: ["ISAL"])), "TestSupport", .product(name: "Hummingbird", package: "hummingbird")]),
        .testTarget(name: "SchedulerTests", dependencies: ["Scheduler", "Jobs", "JobModel", "Store", "TencentCloud", "ObjectStorage",
            "Core", "CDNSimulator", "TestSupport"]),
        .testTarget(name: "CDNSimulatorTests", dependencies: ["CDNSimulator", "TencentCloud", "Jobs", "Core", "TestSupport",
            .product(name: "AsyncHTTPClient", package: "async-http-client")]),
        .testTarget(name: "IngestTests", dependencies: ["Ingest", "Store", "JobModel", "Jobs", "Core", "CZlib", "TestSupport",
            "ObjectStorage", .product(name: "AsyncHTTPClient", package: "async-http-client"), .product(name: "Logging", package: "swift-log"),
            .product(name: "Crypto", package: "swift-crypto"), .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "NIOSSL", package: "swift-nio-ssl")]),
        .testTarget(name: "OrchestratorTests", dependencies: ["Store", "PostgresStore", "JobModel", "Jobs", "ObjectStorage", "Core", "CDNSimulator", "TestSupport", "CZlib",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "Logging", package: "swift-log"), .product(name: "GRDB", package: "GRDB.swift")]),
    ]
)
