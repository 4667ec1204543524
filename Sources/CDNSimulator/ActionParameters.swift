import Foundation

/// The parameters of one API call: the JSON body's top-level object (POST) or the query (GET, all strings).
struct ActionParameters {
    /// The parameters by name (names are case-sensitive, as on Tencent).
    var values: [String: JSONValue]

    /// Parses a POST body; an empty body means no parameters.
    init(jsonBody: [UInt8]) throws(APIError) {
        guard !jsonBody.isEmpty else {
            values = [:]
            return
        }
        guard case .object(let object)? = try? JSONDecoder().decode(JSONValue.self, from: Data(jsonBody)) else {
            throw APIError("InvalidParameter", "The request body is not a JSON object.")
        }
        values = object
    }

    /// Takes GET query parameters, already percent-decoded.
    init(query: [String: String]) {
        values = query.mapValues { .string($0) }
    }

    /// A string parameter, nil when absent or null.
    func string(_ name: String) throws(APIError) -> String? {
        switch values[name] {
        case nil, .null?: return nil
        case .string(let value)?: return value
        default: throw .invalidParameter("\(name) must be a string.")
        }
    }

    /// An integer parameter (a JSON integer, or a decimal string from a GET query), nil when absent or null.
    func int(_ name: String) throws(APIError) -> Int? {
        switch values[name] {
        case nil, .null?: return nil
        case .int(let value)?: return value
        case .double(let value)? where value == value.rounded() && abs(value) < 1e15: return Int(value)
        case .string(let value)?:
            guard let number = Int(value) else { throw .invalidParameter("\(name) must be an integer.") }
            return number
        default: throw .invalidParameter("\(name) must be an integer.")
        }
    }

    /// `Offset` and `Limit` validated as Tencent does: offset at least 0, limit 1...1000, default 100.
    func paging() throws(APIError) -> (offset: Int, limit: Int) {
        let offset = try int("Offset") ?? 0
        let limit = try int("Limit") ?? 100
        guard offset >= 0 else { throw .invalidParameter("Offset must not be negative.") }
        guard (1...1000).contains(limit) else { throw .invalidParameter("Limit must be between 1 and 1000.") }
        return (offset, limit)
    }
}
