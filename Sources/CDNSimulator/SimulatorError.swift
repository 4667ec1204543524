/// A failure inside the simulator itself (not an API error it answers with): zlib, files, binding.
public struct SimulatorError: Error, Sendable, CustomStringConvertible {
    /// What went wrong.
    public var description: String

    /// Creates an error with a message.
    init(_ description: String) {
        self.description = description
    }
}
