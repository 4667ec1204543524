#if canImport(Glibc)
import Glibc
#endif

/// glibc's malloc arenas, capped for bounded memory.
///
/// glibc gives each thread that meets contention an arena of its own, up to 8 per core, and memory
/// freed in one stays in its RSS. A transfer allocates its buffers (the download's chunks, the
/// upload's 1 MiB file slices) on the event loops, the cooperative pool and the blocking pool at
/// once, so with the default the peak RSS of one 1 GiB package rose to 67-77 MiB where two arenas
/// keep it near 60 MiB (`transfer-once` on a 300 MiB package: 77 MiB, 60 MiB with two). The limit
/// takes effect only before a second arena exists: call first thing in `main` (the service and the
/// benchmarks both do).
public enum MallocArenas {
    /// Caps the arenas at `count` (2: the allocations that contend are few and short).
    public static func limit(to count: Int32 = 2) {
        #if canImport(Glibc)
        // `mallopt` is in <malloc.h>, which the Glibc module does not export: look it up instead.
        typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return }
        let mallopt = unsafeBitCast(symbol, to: Mallopt.self)
        _ = mallopt(arenaMaximumParameter, count)
        // A fixed threshold: buffers of 256 KiB and more (the chunks and slices) are mapped and given
        // back when freed, instead of glibc raising the threshold after the first free and keeping them.
        _ = mallopt(mmapThresholdParameter, 256 << 10)
        #endif
    }

    /// `M_ARENA_MAX` of <malloc.h>.
    private static let arenaMaximumParameter: Int32 = -8
    /// `M_MMAP_THRESHOLD` of <malloc.h>.
    private static let mmapThresholdParameter: Int32 = -3
}
