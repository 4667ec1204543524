/// Comparison that takes the same time whatever the position of the first difference, so a header
/// secret cannot be guessed byte by byte from response times.
enum ConstantTime {
    /// Whether `given` equals `expected`; the time depends only on the lengths.
    static func equals(_ given: some Collection<UInt8>, _ expected: some Collection<UInt8>) -> Bool {
        var difference = UInt8(given.count == expected.count ? 0 : 1)
        var expectedIterator = expected.makeIterator()
        for byte in given {
            let other = expectedIterator.next() ?? 0
            difference |= byte ^ other
        }
        return difference == 0
    }
}
