import AsyncHTTPClient
import Foundation
@testable import Jobs
@testable import ObjectStorage
import Testing

/// How the store's answers become retryable or permanent `ObjectStoreError`s, and how its XML is read.
@Suite struct ObjectStoreErrorsTests {
    static let context = ObjectStoreErrorClassifier.Context(
        method: "PUT", key: "cdnlog/a.gz", bucketDescription: "cos bucket logs-125 at https://logs-125.cos.ap-beijing.myqcloud.com",
        credentials: ObjectStoreCredentials(accessKeyID: "AKIDEXAMPLE0000001", secretAccessKey: "the-secret"),
        timeout: .seconds(600))

    static func classify(_ status: Int, _ code: String?) -> ObjectStoreError {
        ObjectStoreErrorClassifier.classify(
            status: status, document: code.map { .init(code: $0, message: "said \($0)", requestID: "body-id") },
            requestID: "header-id", context: context)
    }

    @Test(arguments: [
        (500, "InternalError"), (503, "SlowDown"), (503, "ServiceUnavailable"), (400, "RequestTimeout"),
        (400, "BadDigest"), (400, "InvalidDigest"), (403, "RequestTimeTooSkewed"), (500, nil), (502, nil), (503, nil),
        (504, nil), (408, nil), (429, nil), (500, "SomethingNew"),
    ] as [(Int, String?)])
    func retryable(status: Int, code: String?) {
        let error = Self.classify(status, code)
        #expect(error.isRetryable)
        // The store being down or overloaded is an unavailability (several in a row are an outage); a
        // body altered in flight or a skewed clock is about this request or this host.
        let aboutTheRequest: Set<String> = ["BadDigest", "InvalidDigest", "RequestTimeTooSkewed"]
        #expect(error.disposition == (aboutTheRequest.contains(code ?? "") ? .retryable : .unavailable))
        #expect(error.code == (code ?? "store.http_status"))
        #expect(error.httpStatus == status && error.requestID == "header-id")
    }

    @Test(arguments: [
        (403, "AccessDenied"), (403, "SignatureDoesNotMatch"), (404, "NoSuchBucket"), (403, "InvalidAccessKeyId"),
        (400, "InvalidBucketName"), (404, "NoSuchUpload"), (400, "EntityTooSmall"), (400, "InvalidPart"), (403, nil),
        (404, nil), (301, "PermanentRedirect"), (400, "AuthorizationHeaderMalformed"),
    ] as [(Int, String?)])
    func permanent(status: Int, code: String?) {
        let error = Self.classify(status, code)
        #expect(!error.isRetryable)
        #expect(error.code == (code ?? "store.http_status"))
        #expect(error.message.contains("PUT cdnlog/a.gz on cos bucket logs-125 at https://logs-125.cos.ap-beijing.myqcloud.com"))
    }

    @Test func permanentMessagesSayWhatToCheckWithoutTheSecret() {
        let expectations: [String: [String]] = [
            "AccessDenied": ["AKID…0001", "sink.secret_id", "sink.bucket"],
            "SignatureDoesNotMatch": ["sink.secret_key", "AKID…0001"],
            "InvalidAccessKeyId": ["sink.secret_id", "AKID…0001", "sink.endpoint"],
            "NoSuchBucket": ["sink.bucket", "-<appid>", "sink.region", "sink.endpoint"],
            "InvalidBucketName": ["sink.bucket"],
            "RequestTimeTooSkewed": ["clock", "NTP"],
        ]
        for (code, phrases) in expectations {
            let error = Self.classify(403, code)
            for phrase in phrases { #expect(error.message.contains(phrase), "\(code): \(phrase)") }
            #expect(error.message.contains("said \(code)"))
            #expect(!error.description.contains("the-secret") && !error.description.contains("AKIDEXAMPLE0000001"))
        }
        #expect(Self.classify(403, nil).message.contains("clock"))
    }

    @Test func theBodyRequestIDIsUsedWhenNoHeaderHasOne() {
        let error = ObjectStoreErrorClassifier.classify(
            status: 500, document: .init(code: "InternalError", message: "", requestID: "body-id"), requestID: nil,
            context: Self.context)
        #expect(error.requestID == "body-id")
    }

    @Test func transportFailuresAreRetryableButCancellationStaysCancellation() {
        let timeout = ObjectStoreErrorClassifier.transport(HTTPClientError.deadlineExceeded, context: Self.context)
        #expect((timeout as? ObjectStoreError)?.code == "store.timeout")
        #expect(ObjectStoreErrorClassifier.transport(CancellationError(), context: Self.context) is CancellationError)
        let passthrough = ObjectStoreError.retryable("store.file", "x")
        #expect(ObjectStoreErrorClassifier.transport(passthrough, context: Self.context) as? ObjectStoreError == passthrough)
    }

    // MARK: - XML

    @Test func readsAnErrorAfterStreamedWhitespace() {
        let body = Array(
            ("\n \n<?xml version=\"1.0\"?>\n<!-- note --><Error><Code>SlowDown</Code>"
                + "<Message>a &lt;b&gt; &amp; &#99;&#x64;</Message><RequestId><![CDATA[id<1>]]></RequestId></Error>\n").utf8)
        #expect(ObjectStoreMessages.error(in: body) == .init(code: "SlowDown", message: "a <b> & cd", requestID: "id<1>"))
        #expect(ObjectStoreMessages.error(in: Array("<CompleteMultipartUploadResult/>".utf8)) == nil)
        #expect(ObjectStoreMessages.error(in: Array("   ".utf8)) == nil)
    }

    @Test func readsNamespacedDocumentsAndRejectsMalformedOnes() throws {
        let root = try ObjectStoreXML.parse(Array(
            ("<s3:InitiateMultipartUploadResult xmlns:s3=\"x>y\"><s3:Bucket/><s3:UploadId> u-1 </s3:UploadId>"
                + "</s3:InitiateMultipartUploadResult>").utf8))
        #expect(root.name == "InitiateMultipartUploadResult" && root.children.map(\.name) == ["Bucket", "UploadId"])
        #expect(try ObjectStoreMessages.uploadID(in: Array("<InitiateMultipartUpload><UploadId>u-2</UploadId></InitiateMultipartUpload>".utf8)) == "u-2")
        for malformed in ["<a><b></a>", "<a>", "text", "<a>&bogus;</a>", "<a></a><b></b>", ""] {
            #expect(throws: ObjectStoreXML.MalformedDocument.self, "\(malformed)") { try ObjectStoreXML.parse(Array(malformed.utf8)) }
        }
        #expect(throws: ObjectStoreXML.MalformedDocument.self) {
            try ObjectStoreMessages.uploadID(in: Array("<InitiateMultipartUploadResult/>".utf8))
        }
    }

    @Test func unquotesETags() {
        #expect(ObjectStoreMessages.unquotedETag("\"abc\"") == "abc")
        #expect(ObjectStoreMessages.unquotedETag(" W/\"abc-2\" ") == "abc-2")
        #expect(ObjectStoreMessages.unquotedETag("abc") == "abc")
        #expect(ObjectStoreMessages.unquotedETag("\"\"") == nil)
    }
}
