/// Where a window is in its life: `pending` (waiting to be leased), `running` (leased by a worker),
/// `done` (stored), `failed` (gave up; `retry --failed` puts it back).
public enum JobState: String, Sendable, CaseIterable, Codable, Comparable {
    case pending
    case running
    case done
    case failed

    public static func < (lhs: JobState, rhs: JobState) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}
