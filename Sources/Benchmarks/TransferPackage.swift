import CDNSimulator
import Foundation

/// The package the `transfer` benchmark moves: a real gzip file of log lines of an exact size, written
/// by the CDN simulator's package writer (deterministic, bounded memory, zlib level 1).
enum TransferPackage {
    /// The smallest package the simulator can frame.
    static let minimumBytes = 1024

    /// Writes exactly `bytes` bytes (at least `minimumBytes`) of gzip to `path`.
    ///
    /// The simulator sizes a package as `packageBytes × f`, with `f` in [0.5, 1.5) drawn per hour; the
    /// writer then pads the gzip header to that size exactly. This picks an hour whose `f` is below 1,
    /// where every whole size is reachable, and the `packageBytes` that gives `bytes`.
    static func write(bytes: Int, to path: String) throws {
        guard bytes >= minimumBytes else {
            throw BenchmarkError("a package needs at least \(minimumBytes) bytes, not \(bytes)")
        }
        let (catalog, key) = try catalogAndKey(forExactly: bytes)
        try catalog.writePackage(key, to: URL(fileURLWithPath: path))
        let written = try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int
        guard written == bytes else {
            throw BenchmarkError("the package writer wrote \(written ?? -1) bytes, not \(bytes)")
        }
    }

    /// A catalogue and a package key whose package is `bytes` long.
    private static func catalogAndKey(forExactly bytes: Int) throws -> (PackageCatalog, PackageKey) {
        let domain = "bench.example"
        // A large probe size reads each hour's factor to about 12 significant digits.
        let probeBytes = 1 << 40
        var configuration = CDNSimulatorConfiguration(domains: [domain], packageBytes: probeBytes, seed: 1)
        for hour in 0..<1_000 {
            let key = PackageKey(domain: domain, hourStart: 1_700_000_000 + hour * 3600, area: .mainland)
            let factor = Double(PackageCatalog(configuration: configuration).size(of: key)) / Double(probeBytes)
            guard factor < 0.99 else { continue }
            // With a factor below 1, size(packageBytes) = floor(packageBytes × factor) rises by 0 or 1 per
            // step, so walking up from just below the estimate meets `bytes` exactly.
            var packageBytes = max(1, Int(Double(bytes) / factor) - 64)
            for _ in 0..<256 {
                configuration.packageBytes = packageBytes
                let catalog = PackageCatalog(configuration: configuration)
                let size = catalog.size(of: key)
                if size == bytes { return (catalog, key) }
                if size > bytes { break }
                packageBytes += 1
            }
        }
        throw BenchmarkError("found no simulator package of exactly \(bytes) bytes")
    }
}
