import Core
import Foundation
import Logging

/// How log lines are written to standard error (`log.format`).
enum LogFormat: String, CaseIterable {
    /// For people: `2026-12-01T03:12:02.114Z info window done job.id=3 job.domain=a.example`.
    case text
    /// `time=… level=info message="window done" job.id=3`: one line per event, for log collectors.
    case logfmt
    /// `{"time":…,"level":"info","message":"window done","job.id":"3"}`: one JSON object per line.
    case json
}

/// A handler writing one line per event (`text`, `logfmt` or `json`) to standard error.
///
/// Messages are constant and the variable parts are metadata, so each line is easy to filter on; every
/// value goes through `LogRedaction`, so a credential that reached a message or metadata by mistake is
/// still not written.
struct StructuredLogHandler: LogHandler {
    let label: String
    let format: LogFormat
    var logLevel: Logger.Level
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var fields: [(String, String)] = [
            ("time", SystemWallClock().now.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))),
            ("level", event.level.rawValue), ("message", LogRedaction.redact(event.message.description)),
        ]
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { $1 } }
        if let extra = event.metadata { merged.merge(extra) { $1 } }
        for key in merged.keys.sorted() {
            fields.append((key, LogRedaction.redact("\(merged[key]!)")))
        }
        fields.append(("logger", label))
        let line: String
        switch format {
        case .json:
            line = "{" + fields.map { "\(Self.jsonString($0.0)):\(Self.jsonString($0.1))" }.joined(separator: ",") + "}"
        case .logfmt:
            line = fields.map { "\($0.0)=\(Self.logfmtValue($0.1))" }.joined(separator: " ")
        case .text:
            line = "\(fields[0].1) \(fields[1].1) \(fields[2].1)"
                + fields.dropFirst(3).dropLast().map { " \($0.0)=\(Self.logfmtValue($0.1))" }.joined()
        }
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    /// `text` as a JSON string literal.
    static func jsonString(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case _ where scalar.value < 0x20: result += String(format: "\\u%04x", scalar.value)
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }

    /// `text` as a logfmt value: bare when it has no space, quote or `=`, quoted and escaped otherwise.
    static func logfmtValue(_ text: String) -> String {
        let needsQuotes = text.isEmpty || text.unicodeScalars.contains { $0 == " " || $0 == "\"" || $0 == "=" || $0.value < 0x20 }
        return needsQuotes ? jsonString(text) : text
    }
}

/// Removes credentials from text on its way to a log: the password of a `user:password@` in a URL,
/// and the values of the query parameters and headers that carry signatures or keys.
enum LogRedaction {
    /// `text` with credentials replaced by `REDACTED`.
    static func redact(_ text: String) -> String {
        var result = text
        // scheme://user:password@host → scheme://user:REDACTED@host
        if let expression = try? NSRegularExpression(pattern: #"([A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]+:)[^/\s@]+@"#) {
            result = expression.stringByReplacingMatches(
                in: result, range: NSRange(result.startIndex..., in: result), withTemplate: "$1REDACTED@")
        }
        // Signed query parameters and secret-bearing keys: sign=…, Signature=…, secret_key=…, token=…
        if let expression = try? NSRegularExpression(
            pattern: #"((?:sign|signature|x-amz-signature|x-amz-security-token|secret_key|secretkey|token|password)=)[^&\s"]+"#,
            options: [.caseInsensitive])
        {
            result = expression.stringByReplacingMatches(
                in: result, range: NSRange(result.startIndex..., in: result), withTemplate: "$1REDACTED")
        }
        return result
    }
}
