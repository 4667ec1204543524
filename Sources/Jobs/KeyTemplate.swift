import Foundation

/// Turns a package's domain, hour, area and file name into an object key.
///
/// Placeholders: `{domain}`, `{area}`, `{filename}`, and date parts of the package's hour in UTC:
/// `{yyyy}`, `{mm}`, `{dd}`, `{hh}`, `{yyyymmdd}`, `{yyyymmddhh}`; each also exists in Beijing time
/// (UTC+08:00, the CDN's own time) with a `bj_` prefix: `{bj_yyyymmdd}` and so on.
///
/// The default, `cdnlog/{domain}/{bj_yyyymmdd}/{filename}`, is the original functions' layout: they took
/// the day from the log path, which is the Beijing day, so a migration from them finds every package
/// where they put it. For the hours 16:00-23:59 UTC the Beijing day is the next UTC day; a layout by UTC
/// day is `cdnlog/{domain}/{yyyymmdd}/{filename}`.
///
/// Rules that keep keys safe and distinct:
/// - The template must contain `{filename}` (file names are what tells packages of a window apart).
/// - Without `{area}`, a package from an area other than `mainland` gets the area inserted before its
///   file name's last extension (`2019090423-www.test.com.gz` becomes
///   `2019090423-www.test.com.overseas.gz`), so the mainland and overseas packages of an hour never
///   share a key, and mainland keys stay those of the original function.
/// - Keys never start with `/` (a leading `/` in the template is dropped, as COS itself ignores it),
///   never have empty, `.` or `..` segments, and values cannot add segments: `/` and control characters
///   in a value become `_`.
///
/// Invalid templates throw `TransferError` with code `config.key_template` (permanent).
public struct KeyTemplate: Sendable, Equatable {
    /// The original Tencent functions' layout: the Beijing day of the log path.
    public static let defaultTemplate = "cdnlog/{domain}/{bj_yyyymmdd}/{filename}"
    /// The area whose file names are used unchanged when the template has no `{area}`.
    public static let primaryArea = "mainland"

    /// The template as given.
    public let template: String
    private let parts: [Part]
    private let hasArea: Bool

    /// Parses and checks `template`.
    public init(_ template: String) throws(TransferError) {
        var text = Substring(template.trimmingCharacters(in: .whitespaces))
        while text.first == "/" { text = text.dropFirst() }
        guard !text.isEmpty else { throw Self.invalid("the key template is empty") }
        var parts: [Part] = []
        var literal = ""
        var rest = text
        while let character = rest.first {
            rest = rest.dropFirst()
            if character == "}" { throw Self.invalid("the key template \"\(template)\" has a '}' without '{'") }
            guard character == "{" else {
                literal.append(character)
                continue
            }
            guard let close = rest.firstIndex(of: "}") else {
                throw Self.invalid("the key template \"\(template)\" has a '{' without '}'")
            }
            let name = String(rest[..<close])
            guard let placeholder = Placeholder(rawValue: name) else {
                let known = Placeholder.allCases.map { "{\($0.rawValue)}" }.joined(separator: ", ")
                throw Self.invalid("unknown placeholder {\(name)} in the key template; known: \(known)")
            }
            if !literal.isEmpty { parts.append(.literal(literal)) }
            literal = ""
            parts.append(.placeholder(placeholder))
            rest = rest[rest.index(after: close)...]
        }
        if !literal.isEmpty { parts.append(.literal(literal)) }

        guard parts.contains(.placeholder(.filename)) else {
            throw Self.invalid("the key template \"\(template)\" lacks {filename}: packages would share keys")
        }
        let shape = parts.map { if case .literal(let text) = $0 { text } else { "x" } }.joined()
        if shape.split(separator: "/", omittingEmptySubsequences: false).contains(where: { [".", ".."].contains($0) }) {
            throw Self.invalid("the key template \"\(template)\" has a '.' or '..' segment")
        }
        self.template = template
        self.parts = parts
        self.hasArea = parts.contains(.placeholder(.area))
    }

    /// The folder every key of this template starts with (the literal text before the first
    /// placeholder, up to its last `/`), e.g. `cdnlog/`; empty when a placeholder comes first. Used to
    /// find the service's own unfinished multipart uploads without touching anyone else's.
    public var fixedPrefix: String {
        guard case .literal(let text)? = parts.first, let slash = text.lastIndex(of: "/") else { return "" }
        return String(text[...slash])
    }

    /// The key of the package `filename` of `domain` for the hour starting at `hour`, from `area`.
    ///
    /// `hour` is rounded down to the hour. Pure: the same inputs give the same key.
    public func key(domain: String, hour: Date, area: String, filename: String) -> String {
        var filename = Self.sanitized(filename)
        if !hasArea, !area.isEmpty, area != Self.primaryArea {
            filename = Self.inserting(Self.sanitized(area), beforeExtensionOf: filename)
        }
        let seconds = Int64((hour.timeIntervalSince1970 / 3600).rounded(.down)) * 3600
        let utc = CivilHour(secondsSince1970: seconds)
        let beijing = CivilHour(secondsSince1970: seconds + 8 * 3600)
        let rendered = parts.map { part -> String in
            switch part {
            case .literal(let text): text
            case .placeholder(let placeholder):
                placeholder.value(domain: Self.sanitized(domain), area: Self.sanitized(area), filename: filename,
                                  utc: utc, beijing: beijing)
            }
        }.joined()
        return rendered.split(separator: "/").map { segment in
            segment == "." || segment == ".." ? String(repeating: "_", count: segment.count) : String(segment)
        }.joined(separator: "/")
    }

    // MARK: - Implementation

    /// A piece of a parsed template.
    private enum Part: Sendable, Equatable {
        case literal(String)
        case placeholder(Placeholder)
    }

    /// The placeholders, named as they are written between braces.
    private enum Placeholder: String, CaseIterable, Sendable {
        case domain, area, filename
        case yyyy, mm, dd, hh, yyyymmdd, yyyymmddhh
        case beijingYear = "bj_yyyy", beijingMonth = "bj_mm", beijingDay = "bj_dd", beijingHour = "bj_hh"
        case beijingDate = "bj_yyyymmdd", beijingDateHour = "bj_yyyymmddhh"

        /// This placeholder's text for one package.
        func value(domain: String, area: String, filename: String, utc: CivilHour, beijing: CivilHour) -> String {
            switch self {
            case .domain: domain
            case .area: area
            case .filename: filename
            case .yyyy: utc.year
            case .mm: utc.month
            case .dd: utc.day
            case .hh: utc.hour
            case .yyyymmdd: utc.year + utc.month + utc.day
            case .yyyymmddhh: utc.year + utc.month + utc.day + utc.hour
            case .beijingYear: beijing.year
            case .beijingMonth: beijing.month
            case .beijingDay: beijing.day
            case .beijingHour: beijing.hour
            case .beijingDate: beijing.year + beijing.month + beijing.day
            case .beijingDateHour: beijing.year + beijing.month + beijing.day + beijing.hour
            }
        }
    }

    /// `value` with `/` and control characters replaced by `_`, so it cannot add key segments.
    private static func sanitized(_ value: String) -> String {
        String(value.unicodeScalars.map { scalar -> Character in
            scalar == "/" || scalar.properties.generalCategory == .control ? "_" : Character(scalar)
        })
    }

    /// `name` with `.<insertion>` before its last extension, or appended when it has none.
    private static func inserting(_ insertion: String, beforeExtensionOf name: String) -> String {
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return name + "." + insertion }
        return name[..<dot] + "." + insertion + name[dot...]
    }

    /// A `config.key_template` error.
    private static func invalid(_ message: String) -> TransferError {
        .permanent("config.key_template", message)
    }
}

/// The zero-padded calendar fields of an hour (proleptic Gregorian, no time zone: the caller shifts).
private struct CivilHour {
    let year: String
    let month: String
    let day: String
    let hour: String

    /// The fields of the hour containing `secondsSince1970`.
    init(secondsSince1970 seconds: Int64) {
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let hourOfDay = (seconds - days * 86_400) / 3600
        // Howard Hinnant's days-to-civil algorithm.
        let shifted = days + 719_468
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        self.year = Self.padded(year, 4)
        self.month = Self.padded(month, 2)
        self.day = Self.padded(day, 2)
        self.hour = Self.padded(hourOfDay, 2)
    }

    private static func padded(_ value: Int64, _ width: Int) -> String {
        let text = String(value)
        return String(repeating: "0", count: max(0, width - text.count)) + text
    }
}
