import Foundation
@testable import Store

/// A real SQLite store in a fresh temporary directory, removed when the value is released.
final class TemporaryStore {
    let directory: URL
    let store: SQLiteJobStore

    /// `checkpointPages`: the log's size that starts a checkpoint (small for tests of the checkpoints).
    init(checkpointPages: Int = SQLiteJobStore.checkpointPages) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("store-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        store = try SQLiteJobStore(path: directory.appendingPathComponent("jobs.sqlite").path, checkpointPages: checkpointPages)
    }

    deinit {
        try? store.close()
        try? FileManager.default.removeItem(at: directory)
    }
}

/// 2026-11-01T00:00:00Z.
let referenceHour = Date(timeIntervalSince1970: 1_793_491_200)

func hour(_ offset: Int) -> Date {
    referenceHour.addingTimeInterval(TimeInterval(offset) * 3600)
}
