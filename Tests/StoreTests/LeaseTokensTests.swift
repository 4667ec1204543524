import JobModel
import Testing

/// Lease tokens fence a window's transitions: a token must never repeat, within a store or across
/// stores (processes, hosts, restarts).
@Suite("Lease tokens")
struct LeaseTokensTests {
    @Test("tokens of one source and of several sources never repeat")
    func tokensNeverRepeat() async {
        let sources = (0..<4).map { _ in LeaseTokens() }
        let tokens = await withTaskGroup(of: [String].self) { group in
            for source in sources {
                for _ in 0..<4 {
                    group.addTask { (0..<2_500).map { _ in source.next() } }
                }
            }
            return await group.reduce(into: [String]()) { $0 += $1 }
        }
        #expect(tokens.count == 40_000)
        #expect(Set(tokens).count == tokens.count)
    }

    @Test("each source draws its own random part")
    func sourcesDiffer() {
        let prefixes = (0..<64).map { _ in LeaseTokens().next().split(separator: "-")[0] }
        #expect(Set(prefixes).count == prefixes.count)
        #expect(prefixes.allSatisfy { $0.count == 32 })
    }
}
