import Foundation
@testable import Jobs
@testable import ObjectStorage
import Testing

/// AWS Signature V4, pinned by the vectors of `reference/tencent-cloud.md` section 5.
@Suite struct SigV4SignerTests {
    static let emptyHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    static let s3Credentials = ObjectStoreCredentials(
        accessKeyID: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")

    @Test func getVanillaFromTheAWSTestSuite() {
        let signer = SigV4Signer(
            credentials: ObjectStoreCredentials(
                accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
            region: "us-east-1", service: "service")
        let signature = signer.sign(
            SigV4Signer.Request(
                method: "GET", path: "/",
                headers: [("Host", "example.amazonaws.com"), ("X-Amz-Date", "20150830T123600Z")],
                payloadHash: Self.emptyHash),
            amzDate: "20150830T123600Z")
        #expect(signature.canonicalRequest == """
            GET
            /

            host:example.amazonaws.com
            x-amz-date:20150830T123600Z

            host;x-amz-date
            \(Self.emptyHash)
            """)
        #expect(signature.canonicalRequestHash == "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63")
        #expect(signature.signature == "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31")
        #expect(signature.authorization == "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
            + "SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31")
    }

    @Test func s3GetObjectWithRange() {
        let signature = SigV4Signer(credentials: Self.s3Credentials, region: "us-east-1").sign(
            SigV4Signer.Request(
                method: "GET", path: "/test.txt",
                headers: [
                    ("Host", "examplebucket.s3.amazonaws.com"), ("Range", "bytes=0-9"),
                    ("x-amz-content-sha256", Self.emptyHash), ("x-amz-date", "20130524T000000Z"),
                ],
                payloadHash: Self.emptyHash),
            amzDate: "20130524T000000Z")
        #expect(signature.signedHeaders == "host;range;x-amz-content-sha256;x-amz-date")
        #expect(signature.signature == "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
    }

    @Test func s3PutObjectEncodesTheDollarOfTheKeyOnce() {
        let payloadHash = "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072"
        let signature = SigV4Signer(credentials: Self.s3Credentials, region: "us-east-1").sign(
            SigV4Signer.Request(
                method: "PUT", path: "/test$file.text",
                headers: [
                    ("Date", "Fri, 24 May 2013 00:00:00 GMT"), ("Host", "examplebucket.s3.amazonaws.com"),
                    ("x-amz-content-sha256", payloadHash), ("x-amz-date", "20130524T000000Z"),
                    ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
                ],
                payloadHash: payloadHash),
            amzDate: "20130524T000000Z")
        #expect(signature.canonicalRequest.split(separator: "\n").dropFirst().first == "/test%24file.text")
        #expect(signature.signedHeaders == "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class")
        #expect(signature.signature == "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd")
    }

    @Test func canonicalQuerySortsEncodesAndGivesBareNamesAnEmptyValue() {
        #expect(SigV4Signer.canonicalQuery([("uploads", nil)]) == "uploads=")
        #expect(
            SigV4Signer.canonicalQuery([("uploadId", "a+b/c="), ("partNumber", "2"), ("prefix", "cdnlog/x y")])
                == "partNumber=2&prefix=cdnlog%2Fx%20y&uploadId=a%2Bb%2Fc%3D")
    }

    @Test func canonicalURIEncodesEachSegmentOnceAndKeepsSlashes() {
        #expect(SigV4Signer.canonicalURI("") == "/")
        #expect(SigV4Signer.canonicalURI("/logs/cdnlog/a b/x+y~z(1).gz") == "/logs/cdnlog/a%20b/x%2By~z%281%29.gz")
        #expect(SigV4Signer.canonicalURI("/腾讯") == "/%E8%85%BE%E8%AE%AF")
    }

    @Test func canonicalHeadersTrimAndCollapseValues() {
        let (canonical, signed) = SigV4Signer.canonicalHeaders([("X-Amz-Meta-A", "  a   b  "), ("Host", "h")])
        #expect(canonical == "host:h\nx-amz-meta-a:a b\n")
        #expect(signed == "host;x-amz-meta-a")
    }

    @Test func amzDateIsUTCBasicFormat() {
        #expect(SigV4Signer.amzDate(for: Date(timeIntervalSince1970: 1_440_938_160)) == "20150830T123600Z")
        #expect(SigV4Signer.amzDate(for: Date(timeIntervalSince1970: 1_369_353_600)) == "20130524T000000Z")
    }
}
