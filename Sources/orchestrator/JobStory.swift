import Foundation
import JobModel

/// Renders `jobs show`: one window with every file. Everything that came from outside (domain,
/// package names, object keys, remote error messages) goes through `StatusFormatter.printable`.
enum JobStory {
    /// The text form: a field per line, then a table of files.
    static func text(_ job: JobSummary, files: [FileRecord]) -> String {
        let iso = StatusFormatter.iso
        var state = job.state.rawValue
        if job.state == .done { state += job.final ? " (final)" : " (provisional)" }
        var fields: [(String, String)] = [
            ("window", "\(job.window.domain) \(iso(job.window.hour)) (source \(job.window.source))"),
            ("state", state),
            ("pass", job.pass == .copy ? "copy (first copy)" : "reconcile (checked again after settling)"),
            ("final", job.final ? "yes" : "no"),
            ("attempts", "\(job.attempts)"),
            ("run at", job.state == .pending ? iso(job.runAt) : "\(iso(job.runAt)) (when it was last due)"),
        ]
        if let created = job.createdAt { fields.append(("planned", iso(created))) }
        fields.append(("updated", iso(job.updatedAt)))
        fields.append(("finished", job.finishedAt.map(iso) ?? "-"))
        if let owner = job.leaseOwner {
            fields.append(("lease", "\(owner) until \(job.leaseUntil.map(iso) ?? "?")"))
        }
        let error = job.lastError.map { "\($0.code): \($0.message)" }
        fields.append(("last error", job.state == .done ? error.map { "recovered from \($0)" } ?? "none" : error ?? "none"))
        let stored = files.filter { !$0.skipped }.count
        fields.append(("files", "\(files.count) (\(stored) stored, \(files.count - stored) skipped as already stored), \(job.byteCount) bytes"))
        if job.replacedCount > 0 { fields.append(("replaced", "\(job.replacedCount) by the reconcile pass")) }

        let width = fields.map(\.0.count).max() ?? 0
        var lines = fields.map { name, value in
            StatusFormatter.printable(name + ":" + String(repeating: " ", count: width - name.count + 1) + value)
        }
        if !files.isEmpty {
            lines.append("")
            var rows = [["AREA", "NAME", "SIZE", "CRC64", "MD5", "OBJECT KEY", "RESULT"]]
            for file in files {
                rows.append([file.area, file.name, "\(file.size)", "\(file.crc64)", file.md5, file.objectKey, file.skipped ? "skipped" : "stored"])
            }
            lines.append(contentsOf: StatusFormatter.align(rows, rightAligned: 2...2))
        }
        return lines.joined(separator: "\n")
    }

    /// The `--json` form: the `jobs --json` fields, the lease and times, and `files`.
    static func json(_ job: JobSummary, files: [FileRecord]) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(Document(job, files: files)), as: UTF8.self)
    }

    private struct Document: Encodable {
        struct File: Encodable {
            var area: String
            var name: String
            var size: Int64
            /// As a decimal string: a CRC-64 does not fit a JSON number's exact range.
            var crc64: String
            var md5: String
            var sha256: String
            var object_key: String
            var skipped: Bool
        }

        var job: JobDocument
        var created_at: String?
        var finished_at: String?
        var lease_owner: String?
        var lease_until: String?
        var replaced: Int
        var files: [File]

        init(_ summary: JobSummary, files: [FileRecord]) {
            job = JobDocument(summary)
            created_at = summary.createdAt.map(StatusFormatter.iso)
            finished_at = summary.finishedAt.map(StatusFormatter.iso)
            lease_owner = summary.leaseOwner
            lease_until = summary.leaseUntil.map(StatusFormatter.iso)
            replaced = summary.replacedCount
            self.files = files.map {
                File(area: $0.area, name: $0.name, size: $0.size, crc64: String($0.crc64), md5: $0.md5, sha256: $0.sha256, object_key: $0.objectKey, skipped: $0.skipped)
            }
        }

        func encode(to encoder: any Encoder) throws {
            // The `jobs --json` fields at the top level, beside the story's own.
            try job.encode(to: encoder)
            enum Keys: String, CodingKey { case created_at, finished_at, lease_owner, lease_until, replaced, files }
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode(created_at, forKey: .created_at)
            try container.encode(finished_at, forKey: .finished_at)
            try container.encode(lease_owner, forKey: .lease_owner)
            try container.encode(lease_until, forKey: .lease_until)
            try container.encode(replaced, forKey: .replaced)
            try container.encode(files, forKey: .files)
        }
    }
}
