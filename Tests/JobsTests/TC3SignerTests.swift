import Jobs
import TencentCloud
import Testing

/// TC3-HMAC-SHA256 against the published vectors of `reference/tencent-cloud.md` section 3.
@Suite struct TC3SignerTests {
    let signer = TC3Signer(
        credentials: TencentCredentials(
            secretID: "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE", secretKey: "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE"),
        service: "cvm")
    let host = "cvm.tencentcloudapi.com"
    /// Vector B's body: the `\u` escapes are literal text, not the characters they encode.
    let vectorBBody = Array(#"{"Limit": 1, "Filters": [{"Values": ["\u672a\u547d\u540d"], "Name": "instance-name"}]}"#.utf8)

    @Test func vectorAGetMatchesCanonicalHashAndSignature() {
        let contentType = "application/x-www-form-urlencoded"
        let query = "Limit=10&Offset=0"
        #expect(
            signer.canonicalRequestHash(
                method: "GET", host: host, contentType: contentType, canonicalQuery: query, payload: [])
                == "91c9c192c14460df6c1ffc69e34e6c5e90708de2a6d282cccf957dbf1aa7f3a7")
        #expect(
            signer.signature(
                method: "GET", host: host, contentType: contentType, canonicalQuery: query, payload: [],
                timestamp: 1_539_084_154)
                == "5da7a33f6993f0614b047e5df4582db9e9bf4672ba50567dba16c6ccf174c474")
    }

    @Test func vectorBPostWithCharsetMatchesCanonicalHashAndSignature() {
        let contentType = "application/json; charset=utf-8"
        #expect(
            signer.canonicalRequestHash(
                method: "POST", host: host, contentType: contentType, canonicalQuery: "", payload: vectorBBody)
                == "5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031")
        #expect(
            signer.signature(
                method: "POST", host: host, contentType: contentType, canonicalQuery: "", payload: vectorBBody,
                timestamp: 1_551_113_065)
                == "72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168")
    }

    @Test func vectorBPostWithPlainJSONContentTypeMatchesSignature() {
        #expect(
            signer.signature(
                method: "POST", host: host, contentType: "application/json", canonicalQuery: "",
                payload: vectorBBody, timestamp: 1_551_113_065)
                == "683bd0b53659853c39699162253251192320a09b3937e27bf8e08a559b1465b8")
    }

    @Test func authorizationNamesKeyScopeSignedHeadersAndSignature() {
        let authorization = signer.authorization(
            method: "POST", host: host, contentType: "application/json; charset=utf-8", canonicalQuery: "",
            payload: vectorBBody, timestamp: 1_551_113_065)
        #expect(
            authorization
                == "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/2019-02-25/cvm/tc3_request, "
                + "SignedHeaders=content-type;host, "
                + "Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168")
    }

    @Test func credentialScopeUsesTheUTCDateOfTheTimestamp() {
        // 2019-02-25 23:59:59 UTC is already 2019-02-26 in Beijing; the scope must stay on the UTC date.
        let late = signer.authorization(
            method: "POST", host: host, contentType: "application/json", canonicalQuery: "", payload: [],
            timestamp: 1_551_139_199)
        let nextDay = signer.authorization(
            method: "POST", host: host, contentType: "application/json", canonicalQuery: "", payload: [],
            timestamp: 1_551_139_200)
        #expect(late.contains("/2019-02-25/cvm/tc3_request"))
        #expect(nextDay.contains("/2019-02-26/cvm/tc3_request"))
    }

    @Test func signatureDependsOnSecretKeyAndBody() {
        let base = signer.signature(
            method: "POST", host: host, contentType: "application/json", canonicalQuery: "", payload: vectorBBody,
            timestamp: 1_551_113_065)
        let otherKey = TC3Signer(
            credentials: TencentCredentials(secretID: "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE", secretKey: "other"),
            service: "cvm")
        #expect(
            otherKey.signature(
                method: "POST", host: host, contentType: "application/json", canonicalQuery: "", payload: vectorBBody,
                timestamp: 1_551_113_065) != base)
        #expect(
            signer.signature(
                method: "POST", host: host, contentType: "application/json", canonicalQuery: "",
                payload: vectorBBody + [0x20], timestamp: 1_551_113_065) != base)
    }

    @Test func credentialsNeverPrintTheSecretKeyOrToken() {
        let credentials = TencentCredentials(
            secretID: "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE", secretKey: "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE",
            token: "session-token-value")
        var dumped = ""
        dump(credentials, to: &dumped)
        for text in ["\(credentials)", String(reflecting: credentials), dumped] {
            #expect(!text.contains("Gu5t9xGARNpq86cd98joQYCN3EXAMPLE"))
            #expect(!text.contains("session-token-value"))
            #expect(!text.contains("AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE"))
        }
        #expect(credentials.description.hasPrefix("AKID…MPLE (secret redacted"))
        #expect(TencentCredentials(secretID: "short", secretKey: "k").description == "… (secret redacted)")
    }
}
