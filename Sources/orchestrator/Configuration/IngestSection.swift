import Foundation
import Ingest
import Yams

/// Reads `ingest.endpoints`, a list of maps, which swift-configuration's YAML provider cannot read (it
/// refuses the whole file). The list is taken out of the file with Yams before the rest is read the
/// usual way, and `ORCHESTRATOR_INGEST_ENDPOINTS` may replace it with the same list written as YAML or
/// JSON on one line. Problems name the key, e.g. `ingest.endpoints[1].path`.
enum IngestSection {
    /// The configuration file's text with `ingest.endpoints` removed, and the endpoints' node (nil when
    /// the file has none). The text is nil when nothing had to be removed.
    static func split(yaml text: String) throws -> (remainder: String?, endpoints: Node?) {
        guard var root = try Yams.compose(yaml: text), case .mapping(var top) = root,
              let ingestNode = top["ingest"], case .mapping(var ingest) = ingestNode,
              let endpoints = ingest["endpoints"]
        else { return (nil, nil) }
        ingest["endpoints"] = nil
        top["ingest"] = .mapping(ingest)
        root = .mapping(top)
        return (try Yams.serialize(node: root), endpoints)
    }

    /// The endpoints of `node` (a sequence of mappings), recording a problem per bad entry.
    static func endpoints(_ node: Node, key: String, problems: ConfigurationProblems) -> [IngestEndpoint] {
        guard case .sequence(let sequence) = node else {
            problems.add("\(key) must be a list of endpoints, each with path, domain or disid_domains, and headers")
            return []
        }
        var result: [IngestEndpoint] = []
        for (index, item) in sequence.enumerated() {
            let at = "\(key)[\(index)]"
            guard case .mapping(let mapping) = item else {
                problems.add("\(at) must be a map with path, domain or disid_domains, and headers")
                continue
            }
            for (name, _) in mapping where !["path", "domain", "disid_domains", "headers"].contains(name.string ?? "") {
                problems.add("\(at).\(name.string ?? "?") is not a known key (path, domain, disid_domains, headers)")
            }
            var endpoint = IngestEndpoint(path: mapping["path"]?.string ?? "")
            if !endpoint.path.hasPrefix("/") { problems.add("\(at).path must be a path starting with / (got \(endpoint.path))") }
            endpoint.domain = mapping["domain"]?.string
            if let domain = endpoint.domain, !isHostName(domain) {
                problems.add("\(at).domain must be a host name such as www.example.com (got \(domain))")
            }
            if let map = mapping["disid_domains"] {
                endpoint.disidDomains = stringMap(map, key: "\(at).disid_domains", problems: problems)
                for (disid, domain) in endpoint.disidDomains.sorted(by: { $0.key < $1.key }) where !isHostName(domain) {
                    problems.add("\(at).disid_domains.\(disid) must be a host name such as www.example.com (got \(domain))")
                }
            }
            if endpoint.domain == nil && endpoint.disidDomains.isEmpty {
                problems.add("\(at) needs a domain or a disid_domains map")
            }
            if endpoint.domain != nil && !endpoint.disidDomains.isEmpty {
                problems.add("\(at) has both domain and disid_domains; give one")
            }
            if let headers = mapping["headers"] {
                endpoint.headers = headerMap(headers, key: "\(at).headers", problems: problems)
            }
            result.append(endpoint)
        }
        let paths = result.map(\.path)
        if Set(paths).count != paths.count { problems.add("\(key) lists the same path twice") }
        return result
    }

    /// Letters, digits, `-` and `_` in dot-separated labels: the domain goes into object keys and file names.
    private static func isHostName(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.count <= 253 && text.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
            !label.isEmpty && label.utf8.allSatisfy { byte in
                (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte | 0x20) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                    || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
            }
        }
    }

    /// Headers as a map (`{X-Api-Key: secret}`) or as the sender's own list of `{name, value}` pairs.
    private static func headerMap(_ node: Node, key: String, problems: ConfigurationProblems) -> [String: String] {
        if case .sequence(let pairs) = node {
            var result: [String: String] = [:]
            for (index, pair) in pairs.enumerated() {
                guard let name = pair["name"]?.string, let value = pair["value"]?.string, !name.isEmpty else {
                    problems.add("\(key)[\(index)] must have a name and a value")
                    continue
                }
                result[name] = value
            }
            return result
        }
        return stringMap(node, key: key, problems: problems)
    }

    private static func stringMap(_ node: Node, key: String, problems: ConfigurationProblems) -> [String: String] {
        guard case .mapping(let mapping) = node else {
            problems.add("\(key) must be a map")
            return [:]
        }
        var result: [String: String] = [:]
        for (name, value) in mapping {
            guard let name = name.string, let value = value.string, !name.isEmpty else {
                problems.add("\(key) must map names to text values")
                continue
            }
            result[name] = value
        }
        return result
    }
}
