import Foundation
import Ingest
import Jobs
import Yams

extension ConfigurationLoader {
    /// `ingest.*`: nil when no endpoint is configured (the receiver is off). `endpoints` is the file's
    /// `ingest.endpoints`; `ORCHESTRATOR_INGEST_ENDPOINTS` (YAML or JSON text) replaces it.
    static func readIngest(_ values: ConfigValues, endpoints fileEndpoints: Node?, environment: [String: String], base: String) -> IngestConfiguration? {
        var endpointsNode = fileEndpoints
        var endpointsKey = "ingest.endpoints"
        if let text = environment["ORCHESTRATOR_INGEST_ENDPOINTS"] {
            endpointsKey = "ORCHESTRATOR_INGEST_ENDPOINTS"
            do {
                endpointsNode = try Yams.compose(yaml: text)
            } catch {
                values.problems.add("ORCHESTRATOR_INGEST_ENDPOINTS is not a YAML or JSON list (its text is not shown: it may hold header secrets)")
                return nil
            }
        }
        let listen = values.optionalString("ingest.listen")
        guard let endpointsNode else {
            if listen != nil { values.problems.add("ingest.endpoints must list at least one endpoint when ingest.listen is set") }
            return nil
        }
        var ingest = IngestConfiguration()
        ingest.endpoints = IngestSection.endpoints(endpointsNode, key: endpointsKey, problems: values.problems)
        if ingest.endpoints.isEmpty {
            values.problems.add("ingest.endpoints must list at least one endpoint")
        }
        let address = listen ?? "\(ingest.host):\(ingest.port)"
        if let (host, port) = parseListen(address) {
            ingest.host = host
            ingest.port = port
        } else {
            values.problems.add("ingest.listen must be HOST:PORT, e.g. 0.0.0.0:8443 (got \(address))")
        }
        ingest.tlsCertificate = values.optionalString("ingest.tls.certificate").map { resolve($0, against: base) }
        ingest.tlsKey = values.optionalString("ingest.tls.key").map { resolve($0, against: base) }
        let zone = values.string("ingest.time_zone", default: "UTC")
        if let timeZone = TimeZone(identifier: zone) {
            ingest.timeZone = timeZone
        } else {
            values.problems.add("ingest.time_zone must be a time zone name such as UTC or Asia/Shanghai (got \(zone))")
        }
        ingest.sealGraceMinutes = values.int("ingest.seal_grace_minutes", default: ingest.sealGraceMinutes)
        ingest.maxBodyBytes = values.int("ingest.max_body_bytes", default: ingest.maxBodyBytes)
        ingest.maxDecompressedBytes = values.int("ingest.max_decompressed_bytes", default: ingest.maxDecompressedBytes)
        ingest.spoolQuotaBytes = Int64(values.int("ingest.spool_quota_bytes", default: Int(ingest.spoolQuotaBytes)))
        ingest.maxConcurrentRequests = values.int("ingest.max_concurrent_requests", default: ingest.maxConcurrentRequests)
        ingest.retryAfterSeconds = values.int("ingest.retry_after_seconds", default: ingest.retryAfterSeconds)
        ingest.sealIntervalSeconds = values.int("ingest.seal_interval_seconds", default: ingest.sealIntervalSeconds)
        ingest.keyTemplate = values.string("ingest.key_template", default: ingest.keyTemplate)
        ingest.maxConnections = values.int("ingest.max_connections", default: ingest.maxConnections)
        ingest.idleTimeoutSeconds = values.int("ingest.idle_timeout_seconds", default: ingest.idleTimeoutSeconds)
        ingest.maxPartBytes = Int64(values.int("ingest.max_part_bytes", default: Int(ingest.maxPartBytes)))
        ingest.quarantineRetentionHours = values.int("ingest.quarantine_retention_hours", default: ingest.quarantineRetentionHours)
        return ingest
    }

    /// Checks the ingest section's ranges, recording a problem per offending key.
    static func validate(_ ingest: IngestConfiguration, into problems: ConfigurationProblems) {
        let require = problems.require
        require((ingest.tlsCertificate == nil) == (ingest.tlsKey == nil), "ingest.tls.certificate and ingest.tls.key must be given together")
        for (key, path) in [("ingest.tls.certificate", ingest.tlsCertificate), ("ingest.tls.key", ingest.tlsKey)] {
            if let path { require(FileManager.default.isReadableFile(atPath: path), "\(key): cannot read \(path)") }
        }
        require((0...1440).contains(ingest.sealGraceMinutes), "ingest.seal_grace_minutes must be between 0 and 1440")
        require((1024...(256 << 20)).contains(ingest.maxBodyBytes), "ingest.max_body_bytes must be between 1024 and 268435456")
        require(ingest.maxDecompressedBytes >= ingest.maxBodyBytes && ingest.maxDecompressedBytes <= 1 << 30,
                "ingest.max_decompressed_bytes must be at least ingest.max_body_bytes and at most 1073741824")
        require(ingest.spoolQuotaBytes >= 1, "ingest.spool_quota_bytes must be positive")
        require((1...4096).contains(ingest.maxConcurrentRequests), "ingest.max_concurrent_requests must be between 1 and 4096")
        require((1...3600).contains(ingest.retryAfterSeconds), "ingest.retry_after_seconds must be between 1 and 3600")
        require((1...3600).contains(ingest.sealIntervalSeconds), "ingest.seal_interval_seconds must be between 1 and 3600")
        require((1...65536).contains(ingest.maxConnections), "ingest.max_connections must be between 1 and 65536")
        require((1...3600).contains(ingest.idleTimeoutSeconds), "ingest.idle_timeout_seconds must be between 1 and 3600")
        require(ingest.maxPartBytes >= 1 << 20, "ingest.max_part_bytes must be at least 1048576")
        require((1...(24 * 365)).contains(ingest.quarantineRetentionHours), "ingest.quarantine_retention_hours must be between 1 and 8760")
        do {
            _ = try StreamKeyTemplate(ingest.keyTemplate)
        } catch {
            problems.add("ingest.key_template: \(error.message)")
        }
    }

    /// `HOST:PORT` or `[IPv6]:PORT`.
    static func parseListen(_ text: String) -> (String, Int)? {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return host.isEmpty ? nil : (host, port)
    }
}
