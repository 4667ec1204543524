import Foundation

/// The `transfer` benchmark's two subcommands, parsed apart from `BenchmarkInvocation` so the queue
/// benchmark's parser stays as it is:
///
/// - `orchestrator-bench transfer --work-dir DIR [--bytes N] [--rounds N]`: the whole comparison (see
///   `TransferBenchmark`); its last output line is the JSON report.
/// - `orchestrator-bench transfer-once --url URL --endpoint E --bucket B --key K --access-key ID
///   --secret-key S --spool-dir DIR --ledger FILE`: one orchestrator round in this process (see
///   `TransferOnce`), started by `transfer` as a child so its peak RSS is its own.
enum TransferCommand {
    /// How to call the two subcommands.
    static let usage = """
        usage: orchestrator-bench transfer --work-dir DIR [--bytes N] [--rounds N] [--orchestrator PATH] [--case all|catchup]
          --work-dir DIR   an empty directory for the package, the bucket and the spool (removed by the caller)
          --bytes N        size of the gzip package in bytes (default 1073741824, 1 GiB)
          --rounds N       rounds per tool, alternating orchestrator and rclone (default 3)
          --case catchup   only the catch-up case (needs --orchestrator); its JSON has the catch-up alone
        usage: orchestrator-bench transfer-once --url URL --endpoint URL --bucket B --key K \\
                 --access-key ID --secret-key S --spool-dir DIR --ledger FILE \
                 [--part-size-mib N] [--part-concurrency N] [--size N]
          one orchestrator round: the package at URL into the S3 bucket B at E (SigV4, path style),
          production sink defaults unless overridden (8 MiB parts, 3 in flight; `transfer` never
          overrides them); prints one JSON line of phase timings
        """

    /// Runs `transfer` or `transfer-once` when `arguments` (without the program name) name one of them.
    ///
    /// Returns false, having done nothing, for any other benchmark name. Usage mistakes are reported as
    /// `BenchmarkError`s carrying this subcommand's usage.
    static func runIfRequested(_ arguments: [String]) async throws -> Bool {
        guard let name = arguments.first, name == "transfer" || name == "transfer-once" else { return false }
        let allowed: Set<String> =
            name == "transfer"
            ? ["--work-dir", "--bytes", "--rounds", "--orchestrator", "--case"]
            : [
                "--url", "--endpoint", "--bucket", "--key", "--access-key", "--secret-key", "--spool-dir", "--ledger",
                "--part-size-mib", "--part-concurrency", "--size",
            ]
        let options = try parseOptions(arguments.dropFirst(), allowed: allowed)
        if name == "transfer" {
            let only = options.values["--case"] ?? "all"
            guard only == "all" || only == "catchup" else { throw usageError("--case is all or catchup, not '\(only)'") }
            let benchmark = try TransferBenchmark(
                workDirectory: options.required("--work-dir"),
                bytes: options.positiveInteger("--bytes", default: 1 << 30),
                rounds: options.positiveInteger("--rounds", default: 3),
                benchExecutable: executablePath(), orchestrator: options.values["--orchestrator"])
            if only == "catchup" {
                Progress.line(try await benchmark.runCatchUpOnly().jsonLine())
            } else {
                Progress.line(try await benchmark.run().jsonLine())
            }
        } else {
            let round = try TransferOnce(
                url: options.required("--url"), endpoint: options.required("--endpoint"),
                bucket: options.required("--bucket"), key: options.required("--key"),
                accessKeyID: options.required("--access-key"), secretAccessKey: options.required("--secret-key"),
                spoolDirectory: options.required("--spool-dir"), ledgerPath: options.required("--ledger"),
                partSizeMiB: options.positiveInteger("--part-size-mib", default: TransferOnce.defaultPartSizeMiB),
                partConcurrency: options.positiveInteger("--part-concurrency", default: TransferOnce.defaultPartConcurrency),
                announcedSize: options.optionalPositiveInteger("--size").map(Int64.init))
            let timings = try await round.run()
            Progress.line(try timings.jsonLine())
        }
        return true
    }

    /// `--flag value` pairs; every flag takes a value and must be one of `allowed`.
    private static func parseOptions(_ arguments: ArraySlice<String>, allowed: Set<String>) throws -> ParsedOptions {
        var values: [String: String] = [:]
        var remaining = arguments
        while let flag = remaining.popFirst() {
            guard allowed.contains(flag) else { throw usageError("unknown option '\(flag)'") }
            guard let value = remaining.popFirst() else { throw usageError("\(flag) needs a value") }
            values[flag] = value
        }
        return ParsedOptions(values: values)
    }

    /// This executable's absolute path, so `transfer` can start `transfer-once` from the same build.
    private static func executablePath() -> String {
        let link = "/proc/self/exe"
        if let resolved = try? FileManager.default.destinationOfSymbolicLink(atPath: link) { return resolved }
        return URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL.path
    }

    /// A usage mistake, with the usage text appended.
    static func usageError(_ message: String) -> BenchmarkError {
        BenchmarkError("\(message)\n\n\(usage)")
    }

    /// The parsed `--flag value` pairs, with typed accessors that report what is wrong.
    struct ParsedOptions {
        /// Values by flag, flags with their leading `--`.
        var values: [String: String]

        /// The value of `flag`; a usage error when it is missing or empty.
        func required(_ flag: String) throws -> String {
            guard let value = values[flag], !value.isEmpty else { throw usageError("\(flag) is required") }
            return value
        }

        /// The positive integer value of `flag`, or `fallback` when it is absent.
        func positiveInteger(_ flag: String, default fallback: Int) throws -> Int {
            guard let text = values[flag] else { return fallback }
            guard let number = Int(text), number > 0 else {
                throw usageError("\(flag) needs a positive integer, not '\(text)'")
            }
            return number
        }

        func optionalPositiveInteger(_ flag: String) throws -> Int? {
            values[flag] == nil ? nil : try positiveInteger(flag, default: 0)
        }
    }
}
