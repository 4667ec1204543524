import Foundation
import JobModel
@testable import Store
import Testing

/// What a transfer reads of a window's earlier pass, and the downloads avoided that `status` counts.
@Suite("Recorded files and downloads avoided")
struct RecordedFilesTests {
    let source = "tencent-cdn"

    private func record(_ name: String, etag: String?, downloaded: Bool) -> FileRecord {
        FileRecord(
            area: "mainland", name: name, size: 10, crc64: UInt64.max, md5: "m", sha256: "s", objectKey: "k/\(name)",
            skipped: !downloaded, etag: etag, downloaded: downloaded)
    }

    @Test("a window's records of its last completed pass, with their ETags, are found by the window", arguments: StoreKind.allCases)
    func recordsFoundByWindow(kind: StoreKind) async throws {
        let temporary = try await StoreUnderTest(kind)
        let store = temporary.store
        try await store.setActiveDomains(["a.example", "b.example"], source: source, now: hour(10))
        try await store.plan(
            ["a.example", "b.example"].map { DomainPlan(source: source, domain: $0, firstHour: hour(0), endHour: hour(1)) }, now: hour(10))
        let window = Window(source: source, domain: "a.example", hour: hour(0))
        #expect(try await store.recordedFiles(of: window).isEmpty, "nothing before the first pass completes")
        let records = [record("x.gz", etag: "\"not-quoted-here\"", downloaded: true), record("y.gz", etag: nil, downloaded: true)]
        for job in try await store.claimDueJobs(owner: "w", limit: 2, leaseDuration: 120, now: hour(10)) {
            let files = job.window == window ? records : [record("z.gz", etag: "e", downloaded: true)]
            #expect(try await store.complete(job, files: files, final: false, now: hour(10)))
        }
        #expect(try await store.recordedFiles(of: window) == records)
        #expect(try await store.recordedFiles(of: Window(source: source, domain: "a.example", hour: hour(1))).isEmpty)
    }

    @Test("packages not downloaded are counted as downloads avoided, per kind of pass and per domain", arguments: StoreKind.allCases)
    func downloadsAvoidedCounted(kind: StoreKind) async throws {
        let temporary = try await StoreUnderTest(kind)
        let store = temporary.store
        try await store.setActiveDomains(["a.example"], source: source, now: hour(10))
        try await store.plan([DomainPlan(source: source, domain: "a.example", firstHour: hour(0), endHour: hour(1))], now: hour(10))
        let copy = try #require(try await store.claimDueJobs(owner: "w", limit: 1, leaseDuration: 120, now: hour(10)).first)
        #expect(try await store.complete(
            copy, files: [record("x.gz", etag: "e1", downloaded: false), record("y.gz", etag: "e2", downloaded: true)],
            final: false, now: hour(10)))
        #expect(try await store.status(recentFailureLimit: 0).downloadsAvoided == AvoidedDownloads(copy: 1))

        #expect(try await store.beginReconcilePasses(hoursBefore: hour(1), now: hour(30)) == 1)
        let reconcile = try #require(try await store.claimDueJobs(owner: "w", limit: 1, leaseDuration: 120, now: hour(30)).first)
        #expect(try await store.complete(
            reconcile, files: [record("x.gz", etag: "e1", downloaded: false), record("y.gz", etag: "e2", downloaded: false)],
            final: true, now: hour(30)))
        let status = try await store.status(recentFailureLimit: 0)
        #expect(status.downloadsAvoided == AvoidedDownloads(copy: 1, reconcile: 2))
        #expect(status.downloadsAvoided.total == 3)
        #expect(status.domains.first?.downloadsAvoided == AvoidedDownloads(copy: 1, reconcile: 2))
        #expect(status.settling.replaced == 0, "a package not downloaded was not replaced")
    }
}
