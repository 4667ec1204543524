import Core
import Foundation

/// The lines of one request filed under one domain and event hour, as the part file gets them: `data`
/// is appended to the part file as it is (the receiver makes it one gzip member of NDJSON, so a part
/// file is a concatenation of members, itself a gzip file); the spool never looks inside.
public struct SpoolChunk: Sendable, Hashable {
    /// The stream domain.
    public var domain: String
    /// The UTC start of the lines' event hour.
    public var hour: Date
    /// How many lines `data` holds.
    public var lineCount: Int
    /// The lines' NDJSON bytes before encoding (each line and its newline): what the quota counts.
    public var byteCount: Int
    /// The encoded lines, appended to the part file.
    public var data: [UInt8]
    /// `data` carries this chunk's `SpoolChunkStamp`, which `StreamSpool`'s stamp reader finds again:
    /// the spool may then commit its index without an fsync of its own (see `SQLiteStreamSpool`).
    public var stamped: Bool

    /// Creates a chunk; `hour` is truncated to the start of its hour.
    public init(domain: String, hour: Date, lineCount: Int, byteCount: Int, data: [UInt8], stamped: Bool = false) {
        self.domain = domain
        self.hour = hour.startOfHour
        self.lineCount = lineCount
        self.byteCount = byteCount
        self.data = data
        self.stamped = stamped
    }
}

/// What a chunk's data says about itself: enough for the spool to take the chunk back into its index
/// from the part file alone, after a power loss took index entries that were committed but not yet
/// fsync'd. The receiver writes it into each chunk's gzip member (the header's extra field).
public struct SpoolChunkStamp: Sendable, Hashable {
    /// A random number shared by the chunks of one request's body.
    public var body: UInt64
    /// This chunk's place among the body's chunks, from 0.
    public var index: Int
    /// How many chunks the body has; the body is taken back only when all of them are found.
    public var count: Int
    /// Lines in the chunk.
    public var lineCount: Int
    /// The lines' NDJSON bytes (`SpoolChunk.byteCount`).
    public var byteCount: Int
    /// The body's keyed digest (`SpoolAppend.bodyDigest`), so a retry after the recovery is a repeat.
    public var bodyDigest: [UInt8]
    /// When the body was accepted, Unix seconds.
    public var acceptedAt: Int64

    /// Creates a stamp.
    public init(body: UInt64, index: Int, count: Int, lineCount: Int, byteCount: Int, bodyDigest: [UInt8], acceptedAt: Int64) {
        self.body = body
        self.index = index
        self.count = count
        self.lineCount = lineCount
        self.byteCount = byteCount
        self.bodyDigest = bodyDigest
        self.acceptedAt = acceptedAt
    }
}

/// One stamped chunk found in a part file: its stamp and how many bytes of the file it takes.
public struct StampedChunk: Sendable, Hashable {
    /// The chunk's stamp.
    public var stamp: SpoolChunkStamp
    /// The chunk's length in the part file (its whole gzip member).
    public var length: Int

    /// Creates a found chunk.
    public init(stamp: SpoolChunkStamp, length: Int) {
        self.stamp = stamp
        self.length = length
    }
}

/// Reads the stamped chunks at the start of some bytes of a part file, in order, stopping at the first
/// bytes that are not a whole, intact, stamped chunk.
public typealias StampReader = @Sendable (UnsafeRawBufferPointer) -> [StampedChunk]

/// A line the receiver kept aside: not a JSON object, or without a usable `date` and `time`.
public struct QuarantinedLine: Sendable, Hashable {
    /// The domain of the endpoint it came to (empty when the domain could not be told).
    public var domain: String
    /// Why it was set aside, e.g. `no usable date and time`.
    public var reason: String
    /// The line as it came.
    public var bytes: [UInt8]

    /// Creates a quarantined line.
    public init(domain: String, reason: String, bytes: [UInt8]) {
        self.domain = domain
        self.reason = reason
        self.bytes = bytes
    }
}

/// Everything one request asks the spool to keep, written in one durable transaction.
public struct SpoolAppend: Sendable, Hashable {
    /// The keyed digest of the decompressed body (under `StreamSpool.bodyDigestKey`): the same body
    /// within the repeat window is a retry.
    public var bodyDigest: [UInt8]
    /// SHA-256 of the decompressed body, given while `StreamSpool.holdsSHA256Digests`: a retry of a body
    /// accepted by the version before keyed digests is recognised by it.
    public var sha256: [UInt8]?
    /// The accepted lines, by domain and hour.
    public var chunks: [SpoolChunk]
    /// The lines set aside.
    public var quarantined: [QuarantinedLine]

    /// Creates an append.
    public init(bodyDigest: [UInt8], sha256: [UInt8]? = nil, chunks: [SpoolChunk], quarantined: [QuarantinedLine]) {
        self.bodyDigest = bodyDigest
        self.sha256 = sha256
        self.chunks = chunks
        self.quarantined = quarantined
    }

    /// Bytes this append adds to the spool.
    public var byteCount: Int64 {
        Int64(chunks.reduce(0) { $0 + $1.byteCount } + quarantined.reduce(0) { $0 + $1.bytes.count })
    }
}

/// What the spool did with an append.
public enum SpoolAppendResult: Sendable, Hashable {
    /// The lines are on disk and fsync'd.
    case stored
    /// The same body was accepted within the repeat window: nothing was stored again.
    case repeated
    /// Storing it would pass the spool quota: nothing was stored.
    case overQuota
}

/// One part of one stream domain-hour, as the spool records it.
public struct StreamPart: Sendable, Hashable {
    /// The stream domain.
    public var domain: String
    /// The UTC start of the event hour.
    public var hour: Date
    /// The part number, from 1; never reused within a domain-hour.
    public var part: Int
    /// `open`, `sealed` or `uploaded`.
    public var state: String
    /// Lines in the part.
    public var lineCount: Int
    /// Where the part was stored, once uploaded.
    public var objectKey: String?
    /// The stored object's size, once uploaded.
    public var objectSize: Int64?

    /// Creates a part description.
    public init(domain: String, hour: Date, part: Int, state: String, lineCount: Int, objectKey: String? = nil, objectSize: Int64? = nil) {
        self.domain = domain
        self.hour = hour
        self.part = part
        self.state = state
        self.lineCount = lineCount
        self.objectKey = objectKey
        self.objectSize = objectSize
    }
}

/// One stream domain's line in `status`.
public struct StreamDomainStatus: Sendable, Hashable, Codable {
    /// The stream domain.
    public var domain: String
    /// Hours with an open part (still receiving lines).
    public var openHours: Int
    /// Hours with a sealed part waiting for its upload.
    public var sealedHoursWaiting: Int
    /// Parts stored and verified.
    public var uploadedParts: Int
    /// Lines accepted (not counting repeated bodies).
    public var linesAccepted: Int64
    /// Lines quarantined.
    public var linesQuarantined: Int64
    /// Bodies acknowledged again as a sender's retry.
    public var bodiesRepeated: Int64
    /// Bytes the spool holds for this domain.
    public var spoolBytes: Int64

    /// Creates a status line.
    public init(
        domain: String, openHours: Int, sealedHoursWaiting: Int, uploadedParts: Int, linesAccepted: Int64, linesQuarantined: Int64,
        bodiesRepeated: Int64, spoolBytes: Int64
    ) {
        self.domain = domain
        self.openHours = openHours
        self.sealedHoursWaiting = sealedHoursWaiting
        self.uploadedParts = uploadedParts
        self.linesAccepted = linesAccepted
        self.linesQuarantined = linesQuarantined
        self.bodiesRepeated = bodiesRepeated
        self.spoolBytes = spoolBytes
    }
}

/// What an append is checked against.
public struct SpoolLimits: Sendable, Hashable {
    /// Bytes of accepted and quarantined lines the spool may hold; an append past it is `.overQuota`.
    public var quotaBytes: Int64
    /// A part holding at least one line is sealed before it would grow past this many bytes, and the
    /// hour's next lines open the next part.
    public var maxPartBytes: Int64

    /// Creates limits.
    public init(quotaBytes: Int64, maxPartBytes: Int64 = .max) {
        self.quotaBytes = quotaBytes
        self.maxPartBytes = maxPartBytes
    }
}

/// The push receiver's durable spool: accepted lines filed by domain and event hour, in parts that are
/// sealed into windows of `source` in the job table and deleted once stored.
///
/// Implementations are given `now` and never read a clock. Thread-safe.
public protocol StreamSpool: Sendable {
    /// The 32 random bytes the receiver keys its body digests with: made once per spool and kept with
    /// the digests, so a retry after a restart digests the same.
    var bodyDigestKey: [UInt8] { get }
    /// Whether the spool still holds SHA-256 digests of bodies accepted within the repeat window by the
    /// version before keyed digests; while it does, appends carry `sha256` too.
    var holdsSHA256Digests: Bool { get }
    /// Writes `append` durably (on disk and fsync'd before returning `.stored`), together with its body
    /// digest; appends made at about the same time share one transaction and one fsync (group commit).
    /// A body whose digest was accepted after `repeatedSince` is `.repeated`; an append that would take
    /// the spool past `limits.quotaBytes` is `.overQuota`. Either way nothing is stored.
    func append(_ append: SpoolAppend, limits: SpoolLimits, repeatedSince: Date, now: Date) async throws -> SpoolAppendResult
    /// Seals every open part of an hour that started before `hoursBefore`, and makes sure every hour with
    /// a sealed part has a window of `source` that will run: planned when new, sent back to `pending`
    /// when it was done. Also forgets body digests accepted before `forgetBodiesBefore` and deletes the
    /// lines quarantined before `forgetQuarantineBefore` (they stop counting toward the quota). Returns
    /// how many parts were sealed.
    @discardableResult
    func sealParts(hoursBefore: Date, source: String, forgetBodiesBefore: Date, forgetQuarantineBefore: Date, now: Date) async throws -> Int
    /// The sealed and uploaded parts of one domain-hour, by part number.
    func parts(domain: String, hour: Date) async throws -> [StreamPart]
    /// Up to `maxBytes` of a sealed part's file from byte `offset`: its chunks' `data`, in the order they
    /// were accepted; empty at the part's end.
    func read(_ part: StreamPart, from offset: Int64, maxBytes: Int) async throws -> [UInt8]
    /// Records a sealed part as stored and verified under `objectKey` and deletes its lines. Returns
    /// false when the part was not sealed (already recorded).
    @discardableResult
    func markUploaded(_ part: StreamPart, objectKey: String, objectSize: Int64, now: Date) async throws -> Bool
    /// Bytes the spool holds, all domains.
    func spoolBytes() async throws -> Int64
    /// Per stream domain counts for `status`, sorted by domain.
    func streamStatus() async throws -> [StreamDomainStatus]
}
