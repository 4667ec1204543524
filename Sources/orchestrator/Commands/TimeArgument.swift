import ArgumentParser
import Foundation

/// Parses the time arguments operators type.
enum TimeArgument {
    /// Accepts `YYYY-MM-DD`, `YYYY-MM-DDTHH`, `YYYY-MM-DDTHH:MM`, with an optional `Z` or offset, or a full
    /// ISO 8601 instant; times without a zone are UTC.
    static func parse(_ text: String) throws -> Date {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if let date = try? Date(trimmed, strategy: .iso8601) { return date }
        var candidate = trimmed.replacingOccurrences(of: " ", with: "T")
        let hasZone = candidate.hasSuffix("Z") || candidate.range(of: #"[+-]\d\d:?\d\d$"#, options: .regularExpression) != nil
        if !hasZone { candidate += "Z" }
        let zone = candidate.hasSuffix("Z") ? "Z" : String(candidate.suffix(6))
        let body = candidate.hasSuffix("Z") ? String(candidate.dropLast()) : String(candidate.dropLast(6))
        let padded: String
        switch body.count {
        case 10: padded = body + "T00:00:00"
        case 13: padded = body + ":00:00"
        case 16: padded = body + ":00"
        default: padded = body
        }
        if let date = try? Date(padded + zone, strategy: .iso8601) { return date }
        throw ValidationError("cannot read '\(text)' as a time; use e.g. 2026-11-20, 2026-11-20T13:00Z or 2026-11-20T13:00:00+08:00")
    }
}
