import Core
import Foundation

// `orchestrator-bench NAME [options]`: runs one benchmark, prints progress lines and, last, one JSON
// object. Normally started by `scripts/bench NAME`, which builds in release mode first.

// As the service does, so `transfer-once` measures the service's memory. With
// ORCHESTRATOR_BENCH_MALLOC_DEFAULTS=1, glibc's defaults instead: what the fixed mmap threshold costs
// a benchmark (every buffer of 256 KiB and more is mapped, faulted in and unmapped).
if ProcessInfo.processInfo.environment["ORCHESTRATOR_BENCH_MALLOC_DEFAULTS"] != "1" {
    MallocArenas.limit()
}
let arguments = Array(CommandLine.arguments.dropFirst())
do {
    if try await TransferCommand.runIfRequested(arguments) { exit(0) }
    if try await IngestBenchmark.runIfRequested(arguments) { exit(0) }
    if try await PostgresQueueBenchmark.runWorkerIfRequested(arguments) { exit(0) }
    let invocation = try BenchmarkInvocation(arguments: arguments)
    switch invocation.benchmark {
    case .queue:
        let report = try await QueueBenchmark(options: invocation.queueOptions).run()
        Progress.line(try report.jsonLine())
    case .pool:
        Progress.line(try await QueueBenchmark(options: invocation.queueOptions).runPool().jsonLine())
    case .plan:
        Progress.line(try await QueueBenchmark(options: invocation.queueOptions).runPlan().jsonLine())
    case .status:
        let status = try await QueueBenchmark(options: invocation.queueOptions).measureStatus()
        Progress.line(try status.report.jsonLine())
    }
} catch let error as UsageError {
    FileHandle.standardError.write(Data("orchestrator-bench: \(error.message)\n\n\(BenchmarkInvocation.usage)\n".utf8))
    exit(2)
} catch {
    FileHandle.standardError.write(Data("orchestrator-bench: \(error)\n".utf8))
    exit(1)
}
