import Foundation

/// Any JSON value: how the simulator reads request parameters and writes responses without a type per
/// action.
enum JSONValue: Codable, Sendable, Equatable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int.self) {
            self = .int(value)
        } else if let value = try? container.decode(Double.self) {
            self = .double(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .int(let value): try container.encode(value)
        case .double(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }
}

/// An API error as Tencent reports it: HTTP 200 and `Response.Error.{Code, Message}`.
struct APIError: Error, Equatable {
    /// E.g. `AuthFailure.SignatureFailure`.
    var code: String
    /// A human-readable explanation.
    var message: String

    init(_ code: String, _ message: String) {
        self.code = code
        self.message = message
    }

    static func invalidParameter(_ message: String) -> APIError { APIError("InvalidParameter", message) }
}

/// The parameters of one API call: the JSON body's top-level object (POST) or the query (GET, all strings).
struct ActionParameters {
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
