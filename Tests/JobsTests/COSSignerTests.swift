import Foundation
@testable import Jobs
@testable import ObjectStorage
import Testing

/// The native COS signature, pinned by vectors C and D of `reference/tencent-cloud.md` section 4.
@Suite struct COSSignerTests {
    static let signer = COSSigner(
        credentials: ObjectStoreCredentials(
            accessKeyID: "AKIDQjz3ltompVjBni5LitkWHFlFpwkn9U5q", secretAccessKey: "BQYIM75p8x0iWVFSIgqEKwFprpRSVHlz"))
    static let host = "examplebucket-1250000000.cos.ap-beijing.myqcloud.com"
    static let path = "/exampleobject(腾讯云)"

    static func putRequest(withDate: Bool) -> COSSigner.Request {
        var headers: [(name: String, value: String)] = [
            ("Content-Length", "13"), ("Content-MD5", "mQ/fVh815F3k6TAUm8m0eg=="), ("Content-Type", "text/plain"),
            ("Host", host), ("x-cos-acl", "private"), ("x-cos-grant-read", "uin=\"100000000011\""),
        ]
        if withDate { headers.append(("Date", "Thu, 16 May 2019 06:45:51 GMT")) }
        return COSSigner.Request(method: "PUT", path: path, headers: headers)
    }

    static func getRequest(withDate: Bool) -> COSSigner.Request {
        var headers: [(name: String, value: String)] = [("Host", host)]
        if withDate { headers.append(("Date", "Thu, 16 May 2019 06:55:53 GMT")) }
        return COSSigner.Request(
            method: "GET", path: path,
            parameters: [("response-content-type", "application/octet-stream"), ("response-cache-control", "max-age=600")],
            headers: headers)
    }

    @Test func vectorCPutObject() {
        let signature = Self.signer.sign(Self.putRequest(withDate: true), keyTime: "1557989151;1557996351")
        #expect(signature.signKey == "eb2519b498b02ac213cb1f3d1a3d27a3b3c9bc5f")
        #expect(signature.headerList == "content-length;content-md5;content-type;date;host;x-cos-acl;x-cos-grant-read")
        #expect(signature.parameterList == "")
        #expect(signature.httpStringHash == "8b2751e77f43a0995d6e9eb9477f4b685cca4172")
        #expect(signature.signature == "3b8851a11a569213c17ba8fa7dcf2abec6935172")
        #expect(signature.authorization == "q-sign-algorithm=sha1&q-ak=AKIDQjz3ltompVjBni5LitkWHFlFpwkn9U5q"
            + "&q-sign-time=1557989151;1557996351&q-key-time=1557989151;1557996351"
            + "&q-header-list=content-length;content-md5;content-type;date;host;x-cos-acl;x-cos-grant-read"
            + "&q-url-param-list=&q-signature=3b8851a11a569213c17ba8fa7dcf2abec6935172")
    }

    @Test func vectorDGetObjectWithParameters() {
        let signature = Self.signer.sign(Self.getRequest(withDate: true), keyTime: "1557989753;1557996953")
        #expect(signature.signKey == "937914bf490e9e8c189836aad2052e4feeb35eaf")
        #expect(signature.parameterList == "response-cache-control;response-content-type")
        #expect(signature.headerList == "date;host")
        #expect(signature.httpStringHash == "54ecfe22f59d3514fdc764b87a32d8133ea611e6")
        #expect(signature.signature == "01681b8c9d798a678e43b685a9f1bba0f6c0e012")
        #expect(signature.httpString.split(separator: "\n", omittingEmptySubsequences: false)[2]
            == "response-cache-control=max-age%3D600&response-content-type=application%2Foctet-stream")
    }

    @Test func vectorsCAndDWithoutDate() {
        #expect(Self.signer.sign(Self.putRequest(withDate: false), keyTime: "1557989151;1557996351").signature
            == "fc4e4717b501da12715d5fc84a4880a87ad2b7ab")
        #expect(Self.signer.sign(Self.getRequest(withDate: false), keyTime: "1557989753;1557996953").signature
            == "cf18ded2f669fcafa4b98e02c2a3fdb2b2e55c43")
    }

    @Test func bareParametersSignWithAnEmptyValueAndLowerCaseNames() {
        let signature = Self.signer.sign(
            COSSigner.Request(
                method: "PUT", path: "/a.gz", parameters: [("uploadId", "x/y"), ("partNumber", "3"), ("uploads", nil)],
                headers: [("Host", Self.host)]),
            keyTime: "1;2")
        #expect(signature.parameterList == "partnumber;uploadid;uploads")
        #expect(signature.httpString == "put\n/a.gz\npartnumber=3&uploadid=x%2Fy&uploads=\nhost=\(Self.host)\n")
    }

    @Test func keyTimeRunsFromAMinuteBeforeToAnHourAfterNow() {
        #expect(COSSigner.keyTime(now: Date(timeIntervalSince1970: 1_557_989_151.7)) == "1557989091;1557992751")
    }
}
