import AsyncHTTPClient
import Foundation
@testable import Jobs
@testable import ObjectStorage
import Testing

/// The object store client against a canned loopback server, for what `rclone serve s3` never does:
/// the COS dialect and its headers, errors inside a 200, paged listings, 5xx answers.
@Suite struct ObjectStoreClientCannedTests {
    static let credentials = ObjectStoreCredentials(
        accessKeyID: "AKIDcannedKEY0000001", secretAccessKey: "canned-secret-0000001", sessionToken: "canned-session-token")

    static func client(
        _ endpoint: String, dialect: ObjectStoreDialect = .s3, logs: TencentLogCapture = TencentLogCapture(),
        timeout: Duration = .seconds(30)
    ) -> ObjectStoreClient {
        ObjectStoreClient(
            configuration: ObjectStoreConfiguration(
                dialect: dialect, endpoint: endpoint, bucket: "logs-1250000000", region: "ap-beijing", pathStyle: true,
                credentials: credentials, requestTimeout: timeout),
            httpClient: .shared, logger: logs.logger)
    }

    @Test func cosDialectSignsNativelyAndReadsTheCRC64Header() async throws {
        let file = try ObjectStoreClientTests.scratchFile(size: 5000)
        defer { try? FileManager.default.removeItem(atPath: file.path) }
        let answer: CannedObjectStoreServer.Responder = { _, _ in
            (200, ["ETag": "\"0123abcd\"", "x-cos-hash-crc64ecma": "11051210869376104954", "x-cos-request-id": "cos-req-1"], "")
        }
        let logs = TencentLogCapture()
        try await CannedObjectStoreServer.serve(answer) { endpoint, server in
            let client = Self.client(endpoint, dialect: .cos, logs: logs)
            let md5 = ObjectStoreClientTests.md5(file.bytes[100..<4100])
            let result = try await client.uploadPart(
                key: "cdnlog/x (1).gz", uploadID: "id/1+", partNumber: 7, filePath: file.path, offset: 100, length: 4000,
                contentMD5: md5)
            #expect(result == UploadResult(etag: "0123abcd", crc64: 11_051_210_869_376_104_954))

            let request = try #require(server.requests.first)
            #expect(request.method == "PUT" && request.path == "/logs-1250000000/cdnlog/x%20%281%29.gz")
            #expect(request.query == "partNumber=7&uploadId=id%2F1%2B")
            #expect(request.body == Array(file.bytes[100..<4100]))
            #expect(request.headers["content-md5"] == Data(md5).base64EncodedString())
            #expect(request.headers["x-cos-security-token"] == "canned-session-token")
            let authorization = try #require(request.headers["authorization"])
            let fields = Dictionary(
                uniqueKeysWithValues: authorization.split(separator: "&").map { field in
                    let pair = field.split(separator: "=", maxSplits: 1)
                    return (String(pair[0]), pair.count > 1 ? String(pair[1]) : "")
                })
            #expect(fields["q-sign-algorithm"] == "sha1" && fields["q-ak"] == "AKIDcannedKEY0000001")
            #expect(fields["q-header-list"] == "content-length;content-md5;host;x-cos-security-token")
            #expect(fields["q-url-param-list"] == "partnumber;uploadid")
            let keyTime = try #require(fields["q-key-time"])
            let start = try #require(Int(keyTime.split(separator: ";")[0]))
            #expect(abs(start + 60 - Int(Date().timeIntervalSince1970)) < 300)
            // The server's view: recompute the signature from what arrived.
            let expected = COSSigner(credentials: Self.credentials).sign(
                COSSigner.Request(
                    method: "PUT", path: "/logs-1250000000/cdnlog/x (1).gz",
                    parameters: [("partNumber", "7"), ("uploadId", "id/1+")],
                    headers: ["content-length", "content-md5", "host", "x-cos-security-token"].map {
                        ($0, request.headers[$0] ?? "")
                    }),
                keyTime: keyTime)
            #expect(fields["q-signature"] == expected.signature)
            #expect(!logs.lines.joined().contains("canned-secret") && !logs.lines.joined().contains("canned-session-token"))
            #expect(logs.lines.contains { $0.contains("http.status=200") && $0.contains("cloud.request_id=cos-req-1") })
        }
    }

    /// A COS endpoint that is given is the bucket's own URL (a custom or private domain), used as it is;
    /// only the regional service endpoint gets the bucket put in front of its host.
    @Test func aGivenCOSEndpointIsTheBucketsOwnURL() throws {
        func host(_ endpoint: String) -> String? {
            ObjectStoreAddress(ObjectStoreConfiguration(
                dialect: .cos, endpoint: endpoint, bucket: "logs-1250000000", region: "ap-beijing", credentials: Self.credentials))?.host
        }
        #expect(host("https://logs.example.com") == "logs.example.com")
        #expect(host("http://127.0.0.1:9000") == "127.0.0.1:9000")
        #expect(host("https://cos.ap-beijing.myqcloud.com") == "logs-1250000000.cos.ap-beijing.myqcloud.com")
        #expect(host("https://logs-1250000000.cos.ap-beijing.myqcloud.com") == "logs-1250000000.cos.ap-beijing.myqcloud.com")
        #expect(host("") == "logs-1250000000.cos.ap-beijing.myqcloud.com")
    }

    @Test func aCOSRequestToACustomDomainArrivesThereNativelySigned() async throws {
        let answer: CannedObjectStoreServer.Responder = { _, _ in (200, ["Content-Length": "7", "ETag": "\"e\""], "") }
        try await CannedObjectStoreServer.serve(answer) { endpoint, server in
            let client = ObjectStoreClient(
                configuration: ObjectStoreConfiguration(
                    dialect: .cos, endpoint: endpoint, bucket: "logs-1250000000", region: "ap-beijing", credentials: Self.credentials),
                httpClient: .shared, logger: TencentLogCapture().logger)
            _ = try await client.head(key: "cdnlog/a.gz")
            let request = try #require(server.requests.first)
            #expect(request.path == "/cdnlog/a.gz", "the bucket is the endpoint itself, not a path or host prefix")
            #expect(request.headers["host"] == String(endpoint.dropFirst("http://".count)))
            let authorization = try #require(request.headers["authorization"])
            let fields = Dictionary(uniqueKeysWithValues: authorization.split(separator: "&").map { field in
                let pair = field.split(separator: "=", maxSplits: 1)
                return (String(pair[0]), pair.count > 1 ? String(pair[1]) : "")
            })
            let signedHeaders = try #require(fields["q-header-list"]).split(separator: ";").map(String.init)
            let expected = COSSigner(credentials: Self.credentials).sign(
                COSSigner.Request(
                    method: "HEAD", path: "/cdnlog/a.gz", parameters: [],
                    headers: signedHeaders.map { ($0, request.headers[$0] ?? "") }),
                keyTime: try #require(fields["q-key-time"]))
            #expect(fields["q-signature"] == expected.signature, "the server's recomputation of the native signature agrees")
        }
    }

    @Test func anErrorInsideACompleteAnswerOf200IsThrown() async throws {
        let answer: CannedObjectStoreServer.Responder = { _, _ in
            (200, ["x-amz-request-id": "req-header"],
             "\n   \n   <?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>InternalError</Code>"
                + "<Message>We encountered an internal error. Please try again.</Message><RequestId>req-body</RequestId></Error>")
        }
        try await CannedObjectStoreServer.serve(answer) { endpoint, server in
            let error = try await #require(throws: ObjectStoreError.self) {
                try await Self.client(endpoint).completeMultipartUpload(
                    key: "cdnlog/big.gz", uploadID: "u-1", parts: [(2, "etag-2"), (1, "etag-1")])
            }
            #expect(error.code == "InternalError" && error.isRetryable && error.httpStatus == 200)
            #expect(error.requestID == "req-header")
            let request = try #require(server.requests.first)
            #expect(request.method == "POST" && request.query == "uploadId=u-1")
            #expect(request.headers["content-type"] == "application/xml")
            #expect(String(decoding: request.body, as: UTF8.self) == "<CompleteMultipartUpload>"
                + "<Part><PartNumber>1</PartNumber><ETag>\"etag-1\"</ETag></Part>"
                + "<Part><PartNumber>2</PartNumber><ETag>\"etag-2\"</ETag></Part></CompleteMultipartUpload>")
        }
    }

    @Test func aCompleteAnswerAfterStreamedWhitespaceGivesTheETagAndCRC64() async throws {
        let answer: CannedObjectStoreServer.Responder = { _, _ in
            (200, ["x-cos-hash-crc64ecma": "2900061071848923409"],
             "  \n\n <?xml version=\"1.0\"?><CompleteMultipartUploadResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                + "<Location>x</Location><Key>cdnlog/big.gz</Key><ETag>&quot;9b2cf535f27731c974343645a3985328-2&quot;</ETag>"
                + "</CompleteMultipartUploadResult>")
        }
        try await CannedObjectStoreServer.serve(answer) { endpoint, _ in
            let result = try await Self.client(endpoint, dialect: .cos).completeMultipartUpload(
                key: "cdnlog/big.gz", uploadID: "u-1", parts: [(1, "a"), (2, "b")])
            #expect(result == UploadResult(etag: "9b2cf535f27731c974343645a3985328-2", crc64: 2_900_061_071_848_923_409))
        }
    }

    @Test func listingFollowsTheMarkersOfTruncatedPages() async throws {
        let answer: CannedObjectStoreServer.Responder = { _, index in
            if index == 0 {
                return (200, [:], uploadsPage(
                    [("cdnlog/a&b.gz", "u-1", "2026-01-02T03:04:05.000Z"), ("cdnlog/c.gz", "u-2", "2026-01-02T03:04:06Z")],
                    truncated: true, next: ("cdnlog/c.gz", "u-2")))
            }
            return (200, [:], uploadsPage([("cdnlog/d.gz", "u-3", "not a date")], truncated: false, next: nil))
        }
        try await CannedObjectStoreServer.serve(answer) { endpoint, server in
            let uploads = try await Self.client(endpoint).listMultipartUploads(prefix: "cdnlog/")
            #expect(uploads == [
                MultipartUploadListing(key: "cdnlog/a&b.gz", uploadID: "u-1", initiated: Date(timeIntervalSince1970: 1_767_323_045)),
                MultipartUploadListing(key: "cdnlog/c.gz", uploadID: "u-2", initiated: Date(timeIntervalSince1970: 1_767_323_046)),
                MultipartUploadListing(key: "cdnlog/d.gz", uploadID: "u-3", initiated: .distantFuture),
            ])
            #expect(server.requests.map(\.path) == ["/logs-1250000000", "/logs-1250000000"])
            #expect(server.requests.map(\.query) == [
                "uploads&prefix=cdnlog%2F",
                "uploads&prefix=cdnlog%2F&key-marker=cdnlog%2Fc.gz&upload-id-marker=u-2",
            ])
        }
    }

    @Test func aTruncatedListingWithoutNewMarkersFailsInsteadOfLooping() async throws {
        let answer: CannedObjectStoreServer.Responder = { _, _ in
            (200, [:], uploadsPage([("k", "u", "2026-01-02T03:04:05Z")], truncated: true, next: ("k", "u")))
        }
        try await CannedObjectStoreServer.serve(answer) { endpoint, server in
            let error = try await #require(throws: ObjectStoreError.self) {
                try await Self.client(endpoint).listMultipartUploads(prefix: "")
            }
            #expect(error.code == "store.malformed_response" && server.requests.count == 2)
        }
    }

    @Test func serverErrorsAreRetryableAndCarryTheRequestID() async throws {
        let answer: CannedObjectStoreServer.Responder = { _, index in
            switch index {
            case 0: (503, ["x-amz-request-id": "slow-1"], "<Error><Code>SlowDown</Code><Message>Reduce your request rate.</Message></Error>")
            case 1: (502, [:], "bad gateway")
            default: (409, [:], "<Error><Code>OperationAborted</Code><Message>conflict</Message></Error>")
            }
        }
        try await CannedObjectStoreServer.serve(answer) { endpoint, _ in
            let client = Self.client(endpoint)
            let slow = try await #require(throws: ObjectStoreError.self) { try await client.createMultipartUpload(key: "a") }
            #expect(slow.code == "SlowDown" && slow.isRetryable && slow.requestID == "slow-1" && slow.httpStatus == 503)
            let gateway = try await #require(throws: ObjectStoreError.self) { try await client.createMultipartUpload(key: "a") }
            #expect(gateway.code == "store.http_status" && gateway.isRetryable && gateway.httpStatus == 502)
            let conflict = try await #require(throws: ObjectStoreError.self) { try await client.createMultipartUpload(key: "a") }
            #expect(conflict.code == "OperationAborted" && !conflict.isRetryable)
        }
    }

    /// The HTTP client keeps retrying a refused connection until the request's deadline, so the
    /// failure surfaces as a timeout or as the last connection error, retryable either way.
    @Test func anUnreachableStoreIsARetryableNetworkError() async throws {
        let error = try await #require(throws: ObjectStoreError.self) {
            try await Self.client("http://127.0.0.1:1", timeout: .milliseconds(500)).createMultipartUpload(key: "a")
        }
        #expect(["store.network", "store.timeout"].contains(error.code) && error.isRetryable)
        #expect(error.message.contains("POST a on s3 bucket logs-1250000000 at http://127.0.0.1:1"))
    }

    @Test func anUnusableEndpointIsPermanent() async throws {
        let error = try await #require(throws: ObjectStoreError.self) {
            try await Self.client("ftp://example.com").head(key: "a")
        }
        #expect(error.code == "store.endpoint_invalid" && !error.isRetryable)
    }
}

/// A `ListMultipartUploadsResult` page of `(key, uploadID, initiated)` entries.
private func uploadsPage(
    _ uploads: [(String, String, String)], truncated: Bool, next: (key: String, uploadID: String)?
) -> String {
    let escape = { (text: String) in text.replacingOccurrences(of: "&", with: "&amp;") }
    var text = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListMultipartUploadsResult><Bucket>logs</Bucket>"
    if let next {
        text += "<NextKeyMarker>\(escape(next.key))</NextKeyMarker><NextUploadIdMarker>\(next.uploadID)</NextUploadIdMarker>"
    }
    text += "<IsTruncated>\(truncated)</IsTruncated>"
    for (key, uploadID, initiated) in uploads {
        text += "<Upload><Key>\(escape(key))</Key><UploadId>\(uploadID)</UploadId><Initiated>\(initiated)</Initiated></Upload>"
    }
    return text + "</ListMultipartUploadsResult>"
}
