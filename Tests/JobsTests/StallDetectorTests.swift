import Core
import Foundation
import Testing

/// The sliding-window rate check behind `download.stalled` and `cdn.stalled`, as pure maths.
@Suite struct StallDetectorTests {
    static let start = Date(timeIntervalSince1970: 1_714_618_800)
    /// 1000 B/s over 10 s.
    static let limits = TransferLimits(timeout: .seconds(3600), minimumBytesPerSecond: 1000, stallWindow: .seconds(10))

    /// Feeds `(seconds after start, total bytes)` looks; returns the first verdict and when it came.
    static func firstStall(_ looks: [(TimeInterval, Int64)], limits: TransferLimits = limits) -> (TimeInterval, TransferLimitExceeded)? {
        var detector = StallDetector(limits: limits, start: start)
        for (offset, bytes) in looks {
            if let stalled = detector.observe(bytes: bytes, at: start.addingTimeInterval(offset)) { return (offset, stalled) }
        }
        return nil
    }

    @Test func aBodyAboveTheFloorIsNeverStalled() {
        let looks = (1...120).map { (TimeInterval($0), Int64($0) * 1200) }
        #expect(Self.firstStall(looks) == nil)
    }

    @Test func noVerdictBeforeAWholeWindowHasPassed() {
        let looks = (1...9).map { (TimeInterval($0), Int64(0)) }
        #expect(Self.firstStall(looks) == nil)
    }

    @Test func aBodyBelowTheFloorIsStalledOneWindowIn() throws {
        let looks = (1...30).map { (TimeInterval($0), Int64($0) * 100) }
        let (at, stalled) = try #require(Self.firstStall(looks))
        #expect(at == 10)
        #expect(stalled == .stalled(received: 1000, window: .seconds(10), minimumBytesPerSecond: 1000))
        #expect(stalled.description == "received 1000 bytes in the last 10 s (100 B/s), below the floor of 1000 B/s")
    }

    @Test func aFastStartThenSilenceIsStalledOneWindowAfterTheBytesStop() throws {
        // A megabyte in the first second, then nothing: the sliding window forgets the early burst.
        let looks = (1...40).map { (TimeInterval($0), Int64(1 << 20)) }
        let (at, stalled) = try #require(Self.firstStall(looks))
        #expect(at == 11)
        #expect(stalled == .stalled(received: 0, window: .seconds(10), minimumBytesPerSecond: 1000))
    }

    @Test func aZeroFloorTurnsTheCheckOff() {
        let off = TransferLimits(timeout: .seconds(3600), minimumBytesPerSecond: 0, stallWindow: .seconds(10))
        #expect(Self.firstStall((1...60).map { (TimeInterval($0), Int64(0)) }, limits: off) == nil)
    }
}
