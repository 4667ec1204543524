import Foundation
import Yams

/// What a configuration file says before any value is read: its keys, dotted (`workers.concurrency`),
/// so that a key nothing reads (a misspelling, a key of another version) is reported instead of
/// silently ignored, and whether the file itself holds a secret.
///
/// The file is parsed with Yams first, before swift-configuration reads it, so that a syntax error is
/// reported from Yams' structured error: position, problem and context only. Yams' own description
/// quotes the offending line (and, for a duplicated key, the whole file), which may hold a secret.
struct ConfigurationFile {
    /// Every key the file sets, dotted, in file order. A sequence is one key (`cdn.domains`); an empty
    /// section (`cdn:` with nothing under it) is listed as the section itself.
    let keys: [String]

    /// The keys whose values are secrets: a file setting one of them should be readable by its owner only.
    static let secretKeys: Set<String> = ["cdn.secret_key", "cdn.token", "sink.secret_key", "sink.token"]

    /// Parses `text`.
    ///
    /// - Throws: `ConfigurationError` describing a syntax error without quoting the file.
    init(text: String, path: String) throws {
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw ConfigurationError("cannot parse \(path) as YAML: \(Self.describe(error))")
        }
        guard let root else {
            keys = []
            return
        }
        guard let mapping = root.mapping else {
            throw ConfigurationError("cannot parse \(path) as YAML: the top level must be a mapping of keys such as database, cdn and sink")
        }
        var keys: [String] = []
        Self.collect(mapping, prefix: [], into: &keys)
        self.keys = keys
    }

    /// The secrets the file itself sets (rather than the environment).
    var secretsSet: [String] { keys.filter(Self.secretKeys.contains) }

    private static func collect(_ mapping: Node.Mapping, prefix: [String], into keys: inout [String]) {
        for (keyNode, value) in mapping {
            let path = prefix + [keyNode.string ?? "\(keyNode)"]
            if let nested = value.mapping, !nested.isEmpty {
                collect(nested, prefix: path, into: &keys)
            } else {
                keys.append(path.joined(separator: "."))
            }
        }
    }

    /// A YAML error as one line built from its parts, never from the file's text:
    /// `line 4, column 7: did not find expected ',' or ']' (while parsing a flow sequence in line 3, column 13)`.
    static func describe(_ error: YamlError) -> String {
        switch error {
        case let .scanner(context, problem, mark, _), let .parser(context, problem, mark, _), let .composer(context, problem, mark, _):
            var text = "line \(mark.line), column \(mark.column): \(problem)"
            if let context {
                text += " (\(context.text) in line \(context.mark.line), column \(context.mark.column))"
            }
            return text
        case let .reader(problem, offset, _, _):
            return offset.map { "\(problem) at byte \($0)" } ?? problem
        case let .duplicatedKeysInMapping(duplicates, context):
            return "line \(context.mark.line): duplicated key\(duplicates.count == 1 ? "" : "s") \(duplicates.map { "'\($0)'" }.joined(separator: ", "))"
        case .dataCouldNotBeDecoded:
            return "the file is not UTF-8 text"
        case .no, .memory, .writer, .emitter, .representer:
            return "\(error)"
        }
    }
}

/// The keys the service understands and the closest one to a key it does not.
///
/// The list is not written out: it is every key `ConfigurationLoader` asks for (recorded by
/// `ConfigValues` as it reads), so a key added to the loader is known at once. Sections read another
/// way than through `ConfigValues` add their keys to `readElsewhere`.
enum ConfigurationKeys {
    /// Keys read without `ConfigValues`; a section whose entries are free-form (such as a map of header
    /// names) is listed with a trailing `.` and everything under it is accepted. `ingest.endpoints` is a
    /// list of maps, read with Yams (`IngestSection`) and checked there.
    static let readElsewhere: [String] = ["ingest.endpoints", "ingest.endpoints."]

    /// One problem per key of `fileKeys` that `known` does not hold, naming the closest known key.
    static func problems(fileKeys: [String], known: Set<String>) -> [String] {
        let known = known.union(readElsewhere.filter { !$0.hasSuffix(".") })
        let openSections = readElsewhere.filter { $0.hasSuffix(".") }
        let sections = Set(known.flatMap { key in
            key.split(separator: ".").dropLast().indices.map { key.split(separator: ".")[...$0].joined(separator: ".") }
        })
        return fileKeys.compactMap { key in
            if known.contains(key) || sections.contains(key) || openSections.contains(where: key.hasPrefix) { return nil }
            guard let suggestion = closest(to: key, in: known) else { return "unknown key \(key)" }
            return "unknown key \(key) (did you mean \(suggestion)?)"
        }
    }

    /// The known key nearest to `key`: one with the same last component in another section
    /// (`schedule.tick_seconds` for `workers.tick_seconds`), else the smallest edit distance if small
    /// for the key's length.
    static func closest(to key: String, in known: Set<String>) -> String? {
        let leaf = key.split(separator: ".").last.map(String.init) ?? key
        let sameLeaf = known.filter { $0.split(separator: ".").last.map(String.init) == leaf }
        let pool = sameLeaf.isEmpty ? known : sameLeaf
        guard let best = pool.sorted().map({ ($0, editDistance(key, $0)) }).min(by: { $0.1 < $1.1 }) else { return nil }
        return !sameLeaf.isEmpty || best.1 <= max(2, key.count / 4) ? best.0 : nil
    }

    /// Levenshtein distance over characters.
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        guard !a.isEmpty else { return b.count }
        guard !b.isEmpty else { return a.count }
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }
}
