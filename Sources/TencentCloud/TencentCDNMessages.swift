// The JSON bodies of the two CDN API 3.0 actions the client uses (field names as Tencent spells them).

/// An API answer: `{"Response": {..., "RequestId": "..."}}`, with `"Error": {"Code", "Message"}` on failure.
///
/// Decoded in one pass: the payload is decoded only when there is no `Error`, because an error answer
/// carries none of the payload's required fields.
struct TencentAPIResponse<Payload: Decodable>: Decodable {
    /// An error answer's code and message.
    struct APIError: Decodable {
        /// E.g. `AuthFailure.SignatureFailure`.
        var code: String
        /// Tencent's explanation.
        var message: String

        private enum CodingKeys: String, CodingKey {
            case code = "Code", message = "Message"
        }
    }

    /// The answer's payload, nil when it is an error.
    var payload: Payload?
    /// The error, nil on success.
    var error: APIError?
    /// Tencent's id of the request, for support tickets.
    var requestID: String?

    private enum OuterKeys: String, CodingKey {
        case response = "Response"
    }

    private enum InnerKeys: String, CodingKey {
        case error = "Error", requestID = "RequestId"
    }

    /// Decodes the envelope, and the payload only when there is no error.
    init(from decoder: any Decoder) throws {
        let outer = try decoder.container(keyedBy: OuterKeys.self)
        let inner = try outer.nestedContainer(keyedBy: InnerKeys.self, forKey: .response)
        requestID = try inner.decodeIfPresent(String.self, forKey: .requestID)
        error = try inner.decodeIfPresent(APIError.self, forKey: .error)
        payload = error == nil ? try outer.decode(Payload.self, forKey: .response) : nil
    }
}

/// `DescribeCdnDomainLogs` parameters.
struct DescribeCdnDomainLogsRequest: Encodable {
    /// The domain whose packages to list.
    var domain: String
    /// Beijing time, `YYYY-MM-DD HH:MM:SS`.
    var startTime: String
    /// Beijing time, `YYYY-MM-DD HH:MM:SS`, inclusive.
    var endTime: String
    /// Index of the first entry of the page.
    var offset: Int
    /// Entries per page, at most 1000.
    var limit: Int
    /// `mainland`, `overseas` or `global`.
    var area: String
    /// Always `access`.
    var logType = "access"

    private enum CodingKeys: String, CodingKey {
        case domain = "Domain", startTime = "StartTime", endTime = "EndTime", offset = "Offset", limit = "Limit"
        case area = "Area", logType = "LogType"
    }
}

/// `DescribeCdnDomainLogs` payload: one page of entries and the total over all pages.
struct DescribeCdnDomainLogsResponse: Decodable {
    /// One log package as listed.
    struct Entry: Decodable {
        /// Beijing time of the hour's start, `YYYY-MM-DD HH:MM:SS`.
        var startTime: String
        /// The download link (valid for about a day).
        var logPath: String?
        /// `mainland` or `overseas`.
        var area: String?
        /// A short name such as `2019090423`, used only when `logPath` names no file.
        var logName: String?
        /// Size in bytes; Tencent may send null.
        var fileSize: Int64?

        private enum CodingKeys: String, CodingKey {
            case startTime = "StartTime", logPath = "LogPath", area = "Area", logName = "LogName"
            case fileSize = "FileSize"
        }

        /// Decodes an entry, reading `FileSize` leniently.
        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            startTime = try container.decode(String.self, forKey: .startTime)
            logPath = try container.decodeIfPresent(String.self, forKey: .logPath)
            area = try container.decodeIfPresent(String.self, forKey: .area)
            logName = try container.decodeIfPresent(String.self, forKey: .logName)
            // The size is advisory (the download is checked on its own), so an odd value must not fail the
            // whole page: accept an integer, an integral float or a numeric string, else treat it as absent.
            if let size = try? container.decodeIfPresent(Int64.self, forKey: .fileSize) {
                fileSize = size
            } else if let size = try? container.decodeIfPresent(Double.self, forKey: .fileSize),
                      size.rounded() == size, let exact = Int64(exactly: size) {
                fileSize = exact
            } else {
                fileSize = (try? container.decodeIfPresent(String.self, forKey: .fileSize)).flatMap { Int64($0) }
            }
            if let size = fileSize, size < 0 { fileSize = nil }
        }
    }

    /// This page's entries (Tencent may send null for none).
    var domainLogs: [Entry]?
    /// The number of entries over all pages.
    var totalCount: Int

    private enum CodingKeys: String, CodingKey {
        case domainLogs = "DomainLogs", totalCount = "TotalCount"
    }
}

/// `DescribeDomains` parameters.
struct DescribeDomainsRequest: Encodable {
    /// Index of the first domain of the page.
    var offset: Int
    /// Domains per page, at most 1000.
    var limit: Int

    private enum CodingKeys: String, CodingKey {
        case offset = "Offset", limit = "Limit"
    }
}

/// `DescribeDomains` payload: one page of domains and the total over all pages.
struct DescribeDomainsResponse: Decodable {
    /// One CDN domain of the account (only the fields the client uses).
    struct Domain: Decodable {
        /// The domain name.
        var domain: String
        /// `online`, `offline`, `processing`, `rejected` or `closing`.
        var status: String?

        private enum CodingKeys: String, CodingKey {
            case domain = "Domain", status = "Status"
        }
    }

    /// This page's domains.
    var domains: [Domain]?
    /// The number of domains over all pages.
    var totalNumber: Int

    private enum CodingKeys: String, CodingKey {
        case domains = "Domains", totalNumber = "TotalNumber"
    }
}
