import Core
import Crypto
import Foundation
@testable import Jobs
@testable import ObjectStorage
import Testing

/// Request building, addressing, error classification and XML reading of the object store client,
/// without a network.
@Suite struct ObjectStoreRequestTests {
    static let date = Date(timeIntervalSince1970: 1_567_609_200)  // 20190904T150000Z
    static let emptyHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    static let key = "cdnlog/www.test.com/20190904/201909042300-www.test.com.gz"
    static let credentials = ObjectStoreCredentials(accessKeyID: "AKIDEXAMPLE0000001", secretAccessKey: "example-secret")

    static func configuration(
        _ dialect: ObjectStoreDialect = .s3, endpoint: String = "http://127.0.0.1:9000", bucket: String = "logs",
        region: String = "us-east-1", pathStyle: Bool = true, credentials: ObjectStoreCredentials = credentials
    ) -> ObjectStoreConfiguration {
        ObjectStoreConfiguration(
            dialect: dialect, endpoint: endpoint, bucket: bucket, region: region, pathStyle: pathStyle,
            credentials: credentials, requestTimeout: .seconds(600))
    }

    static func signed(_ request: ObjectStoreRequest, _ configuration: ObjectStoreConfiguration = configuration()) throws -> SignedObjectStoreRequest {
        let address = try #require(ObjectStoreAddress(configuration))
        return request.signed(for: address, configuration: configuration, at: date)
    }

    // MARK: - SigV4 canonical requests of the multipart calls

    @Test func createMultipartUploadSignsABareUploadsParameterAndTheEmptyPayload() throws {
        let signed = try Self.signed(.createMultipartUpload(key: Self.key))
        #expect(signed.url == "http://127.0.0.1:9000/logs/\(Self.key)?uploads")
        #expect(signed.canonicalRequest == """
            POST
            /logs/\(Self.key)
            uploads=
            host:127.0.0.1:9000
            x-amz-content-sha256:\(Self.emptyHash)
            x-amz-date:20190904T150000Z

            host;x-amz-content-sha256;x-amz-date
            \(Self.emptyHash)
            """)
        #expect(signed.header("authorization")?.hasPrefix(
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE0000001/20190904/us-east-1/s3/aws4_request, "
                + "SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=") == true)
    }

    @Test func uploadPartSignsContentMD5AndAnUnsignedPayload() throws {
        let md5 = Array(Insecure.MD5.hash(data: Array("hello".utf8)))
        let signed = try Self.signed(try .uploadPart(
            key: Self.key, uploadID: "2~abc/def+=", partNumber: 3, filePath: "/nonexistent", offset: 0, length: 5,
            contentMD5: md5))
        #expect(signed.url == "http://127.0.0.1:9000/logs/\(Self.key)?partNumber=3&uploadId=2~abc%2Fdef%2B%3D")
        #expect(signed.canonicalRequest == """
            PUT
            /logs/\(Self.key)
            partNumber=3&uploadId=2~abc%2Fdef%2B%3D
            content-md5:XUFAKrxLKna5cZ2REBfFkg==
            host:127.0.0.1:9000
            x-amz-content-sha256:UNSIGNED-PAYLOAD
            x-amz-date:20190904T150000Z

            content-md5;host;x-amz-content-sha256;x-amz-date
            UNSIGNED-PAYLOAD
            """)
    }

    @Test func completeSignsTheSHA256OfItsXMLBodyAndTheContentType() throws {
        let request = try ObjectStoreRequest.completeMultipartUpload(
            key: Self.key, uploadID: "u-1", parts: [(2, "b"), (1, "a")])
        let body = "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>\"a\"</ETag></Part>"
            + "<Part><PartNumber>2</PartNumber><ETag>\"b\"</ETag></Part></CompleteMultipartUpload>"
        guard case .bytes(let bytes) = request.body else { Issue.record("not an in-memory body"); return }
        #expect(String(decoding: bytes, as: UTF8.self) == body)
        let bodyHash = SHA256.hash(data: Array(body.utf8)).hexString
        #expect(try Self.signed(request).canonicalRequest == """
            POST
            /logs/\(Self.key)
            uploadId=u-1
            content-type:application/xml
            host:127.0.0.1:9000
            x-amz-content-sha256:\(bodyHash)
            x-amz-date:20190904T150000Z

            content-type;host;x-amz-content-sha256;x-amz-date
            \(bodyHash)
            """)
    }

    @Test func abortAndListSignTheirQueries() throws {
        #expect(try Self.signed(.abortMultipartUpload(key: "a b.gz", uploadID: "u-1")).canonicalRequest == """
            DELETE
            /logs/a%20b.gz
            uploadId=u-1
            host:127.0.0.1:9000
            x-amz-content-sha256:\(Self.emptyHash)
            x-amz-date:20190904T150000Z

            host;x-amz-content-sha256;x-amz-date
            \(Self.emptyHash)
            """)
        let list = try Self.signed(.listMultipartUploads(prefix: "cdnlog/", after: ("cdnlog/k.gz", "u+2")))
        #expect(list.url == "http://127.0.0.1:9000/logs?uploads&prefix=cdnlog%2F&key-marker=cdnlog%2Fk.gz&upload-id-marker=u%2B2")
        #expect(list.canonicalRequest.split(separator: "\n").prefix(3) == [
            "GET", "/logs", "key-marker=cdnlog%2Fk.gz&prefix=cdnlog%2F&upload-id-marker=u%2B2&uploads=",
        ])
    }

    @Test func aSessionTokenIsSentAndSigned() throws {
        let temporary = ObjectStoreCredentials(accessKeyID: "AKIDTEMP00000001", secretAccessKey: "s", sessionToken: "tok en")
        let s3 = try Self.signed(.head(key: "a"), Self.configuration(credentials: temporary))
        #expect(s3.header("x-amz-security-token") == "tok en")
        #expect(s3.canonicalRequest.contains("\nx-amz-security-token:tok en\n"))
        #expect(s3.header("authorization")?.contains("SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token,") == true)
        let cos = try Self.signed(.head(key: "a"), Self.configuration(.cos, credentials: temporary))
        #expect(cos.header("x-cos-security-token") == "tok en")
        #expect(cos.header("authorization")?.contains("&q-header-list=host;x-cos-security-token&") == true)
    }

    @Test func cosSignsContentLengthOfBodiesAndTheDecodedPath() throws {
        let configuration = Self.configuration(.cos, endpoint: "", bucket: "logs-1250000000", region: "ap-beijing")
        let md5 = [UInt8](repeating: 1, count: 16)
        let signed = try Self.signed(
            try .uploadPart(key: "a b.gz", uploadID: "u", partNumber: 1, filePath: "/x", offset: 0, length: 42, contentMD5: md5),
            configuration)
        #expect(signed.url == "https://logs-1250000000.cos.ap-beijing.myqcloud.com/a%20b.gz?partNumber=1&uploadId=u")
        #expect(signed.header("host") == "logs-1250000000.cos.ap-beijing.myqcloud.com")
        #expect(signed.canonicalRequest == "put\n/a b.gz\npartnumber=1&uploadid=u\n"
            + "content-length=42&content-md5=AQEBAQEBAQEBAQEBAQEBAQ%3D%3D&host=logs-1250000000.cos.ap-beijing.myqcloud.com\n")
        let authorization = try #require(signed.header("authorization"))
        #expect(authorization.hasPrefix("q-sign-algorithm=sha1&q-ak=AKIDEXAMPLE0000001&q-sign-time=1567609140;1567612800&"))
        #expect(authorization.contains("&q-header-list=content-length;content-md5;host&q-url-param-list=partnumber;uploadid&"))
        // GET, HEAD and DELETE carry no body and sign no content-length.
        #expect(try Self.signed(.head(key: "a"), configuration).canonicalRequest.hasSuffix("\nhost=logs-1250000000.cos.ap-beijing.myqcloud.com\n"))
    }

    @Test func fileUploadsNeedASixteenByteMD5AndPartNumbersInRange() {
        #expect(throws: ObjectStoreError.self) {
            try ObjectStoreRequest.putObject(key: "a", filePath: "/x", offset: 0, length: 1, contentMD5: [1, 2])
        }
        for number in [0, 10_001] {
            let error = #expect(throws: ObjectStoreError.self) {
                try ObjectStoreRequest.uploadPart(
                    key: "a", uploadID: "u", partNumber: number, filePath: "/x", offset: 0, length: 1,
                    contentMD5: [UInt8](repeating: 0, count: 16))
            }
            #expect(error?.code == "store.invalid_request" && error?.isRetryable == false)
        }
    }

    // MARK: - Addressing

    @Test func addressingFollowsDialectEndpointAndPathStyle() throws {
        func describe(_ configuration: ObjectStoreConfiguration, key: String? = "k/x.gz") throws -> String {
            let address = try #require(ObjectStoreAddress(configuration))
            return address.url(path: address.path(forKey: key), query: [])
        }
        #expect(try describe(Self.configuration(.cos, endpoint: "", bucket: "b-125", region: "ap-beijing", pathStyle: true))
            == "https://b-125.cos.ap-beijing.myqcloud.com/k/x.gz")
        #expect(try describe(Self.configuration(.s3, endpoint: "", bucket: "b", region: "eu-west-1", pathStyle: false))
            == "https://b.s3.eu-west-1.amazonaws.com/k/x.gz")
        #expect(try describe(Self.configuration(.s3, endpoint: "", bucket: "b", region: "", pathStyle: true))
            == "https://s3.us-east-1.amazonaws.com/b/k/x.gz")
        #expect(try describe(Self.configuration(.s3, endpoint: "https://cos.ap-beijing.myqcloud.com/", bucket: "b-125", pathStyle: true))
            == "https://cos.ap-beijing.myqcloud.com/b-125/k/x.gz")
        #expect(try describe(Self.configuration(.cos, endpoint: "https://b-125.cos.ap-beijing.myqcloud.com", bucket: "b-125", pathStyle: false))
            == "https://b-125.cos.ap-beijing.myqcloud.com/k/x.gz")
        #expect(try describe(Self.configuration(.s3, endpoint: "HTTP://minio.local:9000/base/", bucket: "b", pathStyle: true), key: nil)
            == "http://minio.local:9000/base/b")
        #expect(try describe(Self.configuration(.s3, endpoint: "https://s3.example:443", bucket: "b", pathStyle: false), key: nil)
            == "https://b.s3.example/")
        #expect(ObjectStoreAddress(Self.configuration(endpoint: "not a url")) == nil)
        #expect(ObjectStoreAddress(Self.configuration(endpoint: "ftp://host")) == nil)
        #expect(ObjectStoreAddress(Self.configuration(bucket: "")) == nil)
    }

    @Test func bucketDescriptionNamesDialectBucketAndEndpoint() {
        let client = ObjectStoreClient(configuration: Self.configuration(), httpClient: .shared, logger: .init(label: "test"))
        #expect(client.bucketDescription == "s3 bucket logs at http://127.0.0.1:9000")
        let cos = ObjectStoreClient(
            configuration: Self.configuration(.cos, endpoint: "", bucket: "b-125", region: "ap-guangzhou"),
            httpClient: .shared, logger: .init(label: "test"))
        #expect(cos.bucketDescription == "cos bucket b-125 at https://b-125.cos.ap-guangzhou.myqcloud.com")
    }

    @Test func credentialsNeverShowTheSecretOrToken() {
        let credentials = ObjectStoreCredentials(
            accessKeyID: "AKIDEXAMPLE0000001", secretAccessKey: "very-secret-value", sessionToken: "session-token-value")
        let configuration = Self.configuration(credentials: credentials)
        var dumped = ""
        dump(configuration, to: &dumped)
        for text in ["\(credentials)", String(reflecting: credentials), "\(configuration)", String(reflecting: configuration), dumped] {
            #expect(!text.contains("very-secret-value") && !text.contains("session-token-value"))
        }
        #expect("\(credentials)" == "AKID…0001 (secret redacted, temporary token)")
    }
}
