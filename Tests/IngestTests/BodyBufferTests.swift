import NIOCore
import Testing

@testable import Ingest

/// The reused request-body buffer: exact bytes from body to body, the body limit, the kept capacity.
@Suite("Body buffer")
struct BodyBufferTests {
    static func collect(_ fragments: [[UInt8]], into buffer: BodyBuffer, expecting expected: Int, limit: Int) throws -> [UInt8]? {
        buffer.reset(expecting: expected)
        for fragment in fragments where try !buffer.append(ByteBuffer(bytes: fragment), limit: limit) { return nil }
        return buffer.withBytes { Array($0) }
    }

    @Test("A body reuses the buffer of a larger one and reads back exactly its own bytes, whatever the declared length")
    func reusedBufferHoldsExactlyTheNewBody() throws {
        let buffer = BodyBuffer()
        let large = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        #expect(try Self.collect([Array(large[..<100_000]), Array(large[100_000...])], into: buffer, expecting: large.count, limit: 1 << 20) == large)
        let small = Array("{\"date\":\"2026-11-01\"}\n".utf8)
        #expect(try Self.collect([Array(small[..<5]), Array(small[5...])], into: buffer, expecting: small.count, limit: 1 << 20) == small)
        // No or a wrong Content-Length: the buffer grows as fragments arrive.
        #expect(try Self.collect([large, large], into: buffer, expecting: 0, limit: 1 << 20) == large + large)
        #expect(try Self.collect([], into: buffer, expecting: 10, limit: 1 << 20) == [])
    }

    @Test("A body past the limit is refused without appending the fragment that passes it")
    func limitRefusesTheFragmentThatPassesIt() throws {
        let buffer = BodyBuffer()
        buffer.reset(expecting: 0)
        #expect(try buffer.append(ByteBuffer(bytes: [UInt8](repeating: 1, count: 60)), limit: 100))
        #expect(try !buffer.append(ByteBuffer(bytes: [UInt8](repeating: 2, count: 41)), limit: 100))
        #expect(buffer.count == 60)
        #expect(try buffer.append(ByteBuffer(bytes: [UInt8](repeating: 3, count: 40)), limit: 100))
        #expect(buffer.withBytes { Array($0) } == [UInt8](repeating: 1, count: 60) + [UInt8](repeating: 3, count: 40))
    }

    @Test("A buffer grown past the kept capacity is freed when given back; a smaller one is kept")
    func trimFreesOnlyOversizedBuffers() throws {
        let buffer = BodyBuffer()
        buffer.reset(expecting: 1 << 20)
        #expect(try buffer.append(ByteBuffer(bytes: [1, 2, 3]), limit: 1 << 30))
        buffer.trim()
        #expect(buffer.count == 3)
        buffer.reset(expecting: BodyBuffer.keptCapacity + 1)
        buffer.trim()
        #expect(buffer.count == 0 && buffer.withBytes { $0.baseAddress == nil })
    }
}
