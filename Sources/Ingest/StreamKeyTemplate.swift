import Foundation
import Jobs

/// The object key of one part of a stream domain-hour: the pull pipeline's `KeyTemplate` placeholders
/// (`{domain}`, `{yyyymmdd}`, `{yyyymmddhh}`, `{bj_…}`, ...) plus `{part}`, the part number.
///
/// Keys are deterministic: the same domain, hour and part always give the same key, and parts of one
/// hour never share one, since `{part}` must appear.
public struct StreamKeyTemplate: Sendable, Equatable {
    /// `cdnlog/{domain}/{yyyymmdd}/stream-{yyyymmddhh}-part{part}.json.gz`.
    public static let defaultTemplate = "cdnlog/{domain}/{yyyymmdd}/stream-{yyyymmddhh}-part{part}.json.gz"

    private let base: KeyTemplate

    /// Parses `template`; throws naming the problem when `{part}` is missing or a placeholder is unknown.
    public init(_ template: String) throws(TransferError) {
        guard template.contains("{part}") else {
            throw TransferError.permanent("config.key_template", "the stream key template must contain {part}, so parts of one hour never share a key")
        }
        guard !template.contains("{filename}") else {
            throw TransferError.permanent("config.key_template", "the stream key template has no {filename}; use {part}")
        }
        base = try KeyTemplate(template.replacingOccurrences(of: "{part}", with: "{filename}"))
    }

    /// The key of `part` of `domain`'s `hour`.
    public func key(domain: String, hour: Date, part: Int) -> String {
        base.key(domain: domain, hour: hour, area: KeyTemplate.primaryArea, filename: String(part))
    }

    /// The template's leading text before any placeholder, up to its last `/`.
    public var fixedPrefix: String { base.fixedPrefix }
}
