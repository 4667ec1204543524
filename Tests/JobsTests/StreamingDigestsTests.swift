import Testing

@testable import Jobs

/// Size, CRC64, MD5 and SHA-256 computed in one pass.
@Suite struct StreamingDigestsTests {
    @Test func matchesKnownDigests() {
        var digests = StreamingDigests()
        Array("Object".utf8).withUnsafeBytes { digests.update($0) }
        Array("Content".utf8).withUnsafeBytes { digests.update($0) }
        let file = digests.spooledFile(at: "/spool/x.part")
        #expect(file.size == 13)
        #expect(file.crc64 == 2_900_061_071_848_923_409)
        #expect(file.md5 == "990fdf561f35e45de4e930149bc9b47a")  // COS's Content-MD5 example, in hex
        #expect(file.sha256 == "0d94d2004260432cc27befb2c877a24ca37b4ccaaa8c97d7ddbab2501a6be7d2")
    }

    @Test func digestsNothingAsTheEmptyString() {
        let values = StreamingDigests().finalize()
        #expect(values.size == 0)
        #expect(values.crc64 == 0)
        #expect(values.md5 == "d41d8cd98f00b204e9800998ecf8427e")
        #expect(values.sha256 == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }
}
