import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A request body collected in one block of memory reused from request to request. A fresh block for
/// every body (NIO's `ByteBuffer` sized by `Content-Length`) is mapped, page-faulted, zeroed and
/// unmapped by malloc each time once it is 256 KiB or more (`MallocArenas`' fixed threshold), which
/// costs the receiver more than reading the bytes. `@unchecked Sendable` so a `ReusePool` can hold it:
/// one request at a time uses it, from reading the body until its lines are filed.
final class BodyBuffer: @unchecked Sendable {
    /// malloc could not give the memory a body needs.
    struct OutOfMemory: Error {}

    /// Capacity kept between bodies; a buffer grown past it is freed when given back.
    static let keptCapacity = 8 << 20
    private var base: UnsafeMutableRawPointer?
    private var capacity = 0
    /// Bytes collected.
    private(set) var count = 0

    deinit { free(base) }

    /// Empties the buffer and makes room for `expected` bytes (the request's `Content-Length`) when
    /// malloc can; otherwise `append` grows it as the body arrives.
    func reset(expecting expected: Int) {
        count = 0
        _ = reserve(expected)
    }

    /// Appends `fragment`; false, appending nothing, when the body would pass `limit` bytes. Throws
    /// `OutOfMemory`, appending nothing, when the buffer cannot grow to hold it.
    func append(_ fragment: ByteBuffer, limit: Int) throws(OutOfMemory) -> Bool {
        let size = fragment.readableBytes
        guard count + size <= limit else { return false }
        if count + size > capacity {
            guard reserve(min(limit, max(count + size, capacity * 2))) || reserve(count + size) else { throw OutOfMemory() }
        }
        fragment.withUnsafeReadableBytes { bytes in
            if let source = bytes.baseAddress, let base { (base + count).copyMemory(from: source, byteCount: size) }
        }
        count += size
        return true
    }

    /// Runs `body` on the bytes collected, which it must not keep.
    func withBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        try body(UnsafeRawBufferPointer(start: base, count: count))
    }

    /// Frees a buffer grown past `keptCapacity`; called when a request gives it back.
    func trim() {
        guard capacity > Self.keptCapacity else { return }
        free(base)
        base = nil
        capacity = 0
        count = 0
    }

    /// Grows the buffer to `wanted` bytes, keeping its contents; false, leaving it as it was, when
    /// malloc cannot.
    private func reserve(_ wanted: Int) -> Bool {
        guard wanted > capacity else { return true }
        guard let grown = realloc(base, wanted) else { return false }
        base = grown
        capacity = wanted
        return true
    }
}
