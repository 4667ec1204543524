#if ISAL
import CISAL

/// Checks, as bytes stream past, that they form one or more complete, intact gzip members.
///
/// Inflates with Intel ISA-L (`isal_inflate`, several times faster than zlib) and discards the output,
/// so memory stays at ISA-L's state (85 KiB) plus a 256 KiB scratch buffer whatever the input
/// size. Every member's header, CRC32 and ISIZE trailer is checked; concatenated members (as
/// `cat a.gz b.gz` makes) are accepted; anything after a member that is not another member (trailing
/// garbage, even zero padding) is rejected. It accepts and rejects the same streams as
/// `ZlibGzipVerifier`, which the tests check on valid and invalid streams; it may reject a bad header a
/// byte sooner, since zlib judges header bytes in pairs.
///
/// Each member's header is read with `isal_read_gzip_header` and a header record kept across calls:
/// `isal_inflate` reads the header with a record of its own on its stack, which loses the flags (and
/// the header CRC) when the optional fields arrive split across calls. The first four header bytes are
/// checked here as they arrive (see `checkHeaderPrefix`), reserved flag bits included, which ISA-L
/// ignores and zlib rejects.
///
/// Errors are `TransferError` with code `download.corrupt_gzip` (retryable: a fresh download may be
/// intact). The first error is sticky: later calls throw it again.
///
/// Noncopyable because it owns ISA-L's state, which holds pointers into the caller's buffers only
/// during a call; not `Sendable` (use one verifier per stream, from one task at a time).
public struct GzipVerifier: ~Copyable {
    /// Zero-filled heap memory: the state is 85 KiB, too big to move around by value.
    private let state: UnsafeMutablePointer<inflate_state>
    /// The member header being read; kept across calls so a header split across chunks reads right.
    private let header: UnsafeMutablePointer<isal_gzip_header>
    private let scratch: UnsafeMutableRawBufferPointer
    /// Whether the current member's header has been read and checked.
    private var headerRead = false
    private var memberEnded = false
    /// Compressed bytes of the current member consumed so far.
    private var memberByteCount: Int64 = 0
    private var failure: TransferError?
    /// Compressed bytes fed so far.
    public private(set) var compressedByteCount: Int64 = 0
    /// Decompressed bytes produced so far (counted, then discarded).
    public private(set) var decompressedByteCount: Int64 = 0
    /// Members completed so far, trailer checked.
    public private(set) var memberCount = 0

    /// Creates a verifier expecting gzip data (not raw deflate, not zlib-wrapped).
    ///
    /// Declared `throws` like `ZlibGzipVerifier.init`, whose zlib can fail to allocate; this one cannot.
    public init() throws(TransferError) {
        // Zero bytes are a valid value of these plain C structs; the init calls below set the rest.
        self.state = Self.zeroed(inflate_state.self)
        self.header = Self.zeroed(isal_gzip_header.self)
        isal_inflate_init(self.state)
        self.state.pointee.crc_flag = UInt32(ISAL_GZIP)
        isal_gzip_header_init(self.header)
        self.scratch = .allocate(byteCount: 256 * 1024, alignment: 64)
    }

    deinit {
        UnsafeMutableRawPointer(state).deallocate()
        UnsafeMutableRawPointer(header).deallocate()
        scratch.deallocate()
    }

    /// Feeds the next compressed bytes; throws as soon as they cannot be part of a valid gzip stream.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) throws(TransferError) {
        if let failure { throw failure }
        guard let base = bytes.baseAddress else { return }
        var offset = 0
        while offset < bytes.count {
            // avail_in is 32-bit: feed huge buffers in slices.
            let length = min(bytes.count - offset, 1 << 30)
            do throws(TransferError) {
                try inflateSlice(base + offset, length)
            } catch {
                failure = error
                throw error
            }
            offset += length
        }
    }

    /// Declares the end of the input; throws unless it ended exactly after a complete member.
    public mutating func finish() throws(TransferError) {
        if let failure { throw failure }
        if compressedByteCount == 0 {
            failure = Self.corrupt("the body is empty, not a gzip file")
        } else if !memberEnded {
            failure = Self.corrupt(
                "the gzip data ends inside a member after \(compressedByteCount) bytes (truncated)")
        }
        if let failure { throw failure }
    }

    /// Inflates `length` bytes at `base`, discarding the output.
    private mutating func inflateSlice(_ base: UnsafeRawPointer, _ length: Int) throws(TransferError) {
        // ISA-L never writes through next_in.
        state.pointee.next_in = UnsafeMutablePointer(mutating: base.assumingMemoryBound(to: UInt8.self))
        state.pointee.avail_in = UInt32(length)
        defer {
            state.pointee.next_in = nil
            state.pointee.avail_in = 0
        }
        while true {
            if memberEnded {
                guard state.pointee.avail_in > 0 else { return }
                // More bytes after a complete member: they must start another member.
                isal_inflate_reset(state)  // keeps crc_flag
                isal_gzip_header_init(header)
                headerRead = false
                memberEnded = false
                memberByteCount = 0
            }
            if !headerRead {
                try readHeader()
                guard headerRead else { return }  // the header goes on in the next bytes
            }
            let availableBefore = state.pointee.avail_in
            state.pointee.next_out = scratch.baseAddress?.assumingMemoryBound(to: UInt8.self)
            state.pointee.avail_out = UInt32(scratch.count)
            let status = isal_inflate(state)
            let consumed = Int64(availableBefore - state.pointee.avail_in)
            let produced = Int64(scratch.count - Int(state.pointee.avail_out))
            compressedByteCount += consumed
            memberByteCount += consumed
            decompressedByteCount += produced
            guard status == ISAL_DECOMP_OK else {
                throw Self.corrupt("the gzip data is corrupt near byte \(compressedByteCount): \(Self.describe(status))")
            }
            if state.pointee.block_state == ISAL_BLOCK_FINISH {
                memberEnded = true
                memberCount += 1
            } else if consumed == 0 && produced == 0 && state.pointee.avail_in > 0 {
                // Cannot happen with a sound ISA-L; a loop that makes no progress must not spin.
                throw Self.corrupt("the gzip inflate stopped making progress near byte \(compressedByteCount)")
            }
            // Stop when the input is used up and ISA-L had room to spare (nothing left to flush).
            if state.pointee.avail_in == 0 && (memberEnded || state.pointee.avail_out > 0) { return }
        }
    }

    /// Reads as much of the member's header as the input holds; sets `headerRead` once it is complete.
    private mutating func readHeader() throws(TransferError) {
        try checkHeaderPrefix()
        let availableBefore = state.pointee.avail_in
        let status = isal_read_gzip_header(state, header)
        let consumed = Int64(availableBefore - state.pointee.avail_in)
        compressedByteCount += consumed
        memberByteCount += consumed
        switch status {
        case ISAL_DECOMP_OK:
            headerRead = true
        case ISAL_END_INPUT:
            break
        default:
            throw Self.corrupt("the gzip header near byte \(compressedByteCount) is invalid: \(Self.describe(status))")
        }
    }

    /// Checks the member's first four bytes as they arrive: ID1, ID2, CM and FLG's reserved bits.
    ///
    /// ISA-L looks at none of them before the whole 10-byte fixed part is in, and ignores reserved
    /// flags; zlib rejects each as soon as it sees it, and so does this, so a body that is not gzip
    /// fails on its first chunk whatever the verifier.
    private func checkHeaderPrefix() throws(TransferError) {
        guard memberByteCount < 4, let next = state.pointee.next_in else { return }
        let available = Int(state.pointee.avail_in)
        var position = Int(memberByteCount)
        while position < 4 && position - Int(memberByteCount) < available {
            let byte = next[position - Int(memberByteCount)]
            let offset = compressedByteCount + Int64(position) - memberByteCount
            switch position {
            case 0 where byte != 0x1F, 1 where byte != 0x8B:
                throw Self.corrupt("the data at byte \(offset) is not a gzip header (wrong magic number)")
            case 2 where byte != 8:
                throw Self.corrupt("the gzip header at byte \(offset) names an unknown compression method \(byte)")
            case 3 where byte & 0xE0 != 0:
                throw Self.corrupt("the gzip header at byte \(offset) sets reserved flags")
            default:
                break
            }
            position += 1
        }
    }

    /// Heap memory for one `type`, every byte zero.
    private static func zeroed<Value>(_ type: Value.Type) -> UnsafeMutablePointer<Value> {
        let raw = UnsafeMutableRawPointer.allocate(byteCount: MemoryLayout<Value>.size, alignment: MemoryLayout<Value>.alignment)
        raw.initializeMemory(as: UInt8.self, repeating: 0, count: MemoryLayout<Value>.size)
        return raw.bindMemory(to: Value.self, capacity: 1)
    }

    /// ISA-L's name for `status`.
    private static func describe(_ status: Int32) -> String {
        switch status {
        case ISAL_INVALID_BLOCK: "invalid deflate block"
        case ISAL_INVALID_SYMBOL: "invalid deflate symbol"
        case ISAL_INVALID_LOOKBACK: "invalid distance too far back"
        case ISAL_INVALID_WRAPPER: "not a gzip header"
        case ISAL_UNSUPPORTED_METHOD: "unknown compression method"
        case ISAL_INCORRECT_CHECKSUM: "incorrect checksum (CRC32, size or header CRC)"
        case ISAL_NEED_DICT: "needs a preset dictionary"
        default: "ISA-L status \(status)"
        }
    }

    /// A `download.corrupt_gzip` error.
    private static func corrupt(_ message: String) -> TransferError {
        .retryable("download.corrupt_gzip", message)
    }
}
#else
/// Built without ISA-L (the `ISAL` trait off): the package is verified by zlib's inflate, which accepts
/// and rejects the same streams for 2.6 times the CPU (`scripts/bench transfer`, `single_core_seconds`).
public typealias GzipVerifier = ZlibGzipVerifier
#endif
