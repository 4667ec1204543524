import Foundation

/// The whole service configuration, as read from YAML and the environment, with the documented
/// defaults. Built once at start-up and handed to each component through its own configuration type.
struct OrchestratorConfiguration: Sendable, CustomStringConvertible {
    /// `cdn.*`: the Tencent CDN API.
    struct CDN: Sendable {
        var endpoint = "https://cdn.tencentcloudapi.com"
        var secretID = ""
        var secretKey = ""
        var token: String?
        var domains: [String] = []
        var area = "global"
        var requestsPerSecond = 20.0
        var discoveryMinutes = 60
    }

    /// `schedule.*`: planning.
    struct Schedule: Sendable {
        var tickSeconds = 60
        var lookbackHours = 72
        var availabilityDelayMinutes = 60
        var settleHours = 24
        var publicationHorizonMinutes = 180
    }

    /// `workers.*`: the worker pool and retry policy.
    struct Workers: Sendable {
        var concurrency = 4
        var maxAttempts = 8
        var backoffBaseSeconds = 30
        var backoffCapSeconds = 3600
        var leaseSeconds = 120
        var spoolDirectory = ""
    }

    /// `sink.*`: where packages are stored.
    struct Sink: Sendable {
        var kind = "local"
        var directory = "./bucket"
        var endpoint = ""
        var bucket = ""
        var region = ""
        var secretID = ""
        var secretKey = ""
        var token: String?
        var pathStyle = false
        var keyTemplate = "cdnlog/{domain}/{yyyymmdd}/{filename}"
        var multipartThresholdMiB = 64
        var partSizeMiB = 8
        var partConcurrency = 3
    }

    var database = "./orchestrator.sqlite"
    var cdn = CDN()
    var schedule = Schedule()
    var workers = Workers()
    var sink = Sink()
    var logLevel = "info"

    /// The spool directory: configured, or `<database>.spool` beside the database.
    var resolvedSpoolDirectory: String {
        workers.spoolDirectory.isEmpty ? database + ".spool" : workers.spoolDirectory
    }

    var description: String {
        var text = "database=\(database) cdn.endpoint=\(cdn.endpoint) cdn.secret_id=\(Redacted(cdn.secretID)) domains=\(cdn.domains.isEmpty ? "(discover)" : cdn.domains.joined(separator: ",")) sink=\(sink.kind)"
        if sink.kind == "local" {
            text += " sink.directory=\(sink.directory)"
        } else {
            text += " sink.bucket=\(sink.bucket) sink.region=\(sink.region) sink.endpoint=\(sink.endpoint.isEmpty ? "(default)" : sink.endpoint) sink.secret_id=\(Redacted(sink.secretID))"
        }
        return text
    }
}

/// Shows only the start and end of a credential identifier; never used for secret keys.
struct Redacted: CustomStringConvertible {
    let value: String

    init(_ value: String) { self.value = value }

    var description: String {
        guard value.count > 8 else { return value.isEmpty ? "(unset)" : "****" }
        return "\(value.prefix(4))…\(value.suffix(4))"
    }
}
