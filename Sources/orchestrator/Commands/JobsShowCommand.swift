import ArgumentParser
import Foundation
import JobModel
import Store

/// `orchestrator jobs show ID`: the whole story of one window.
struct JobsShowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "The whole story of one window: state, pass, attempts, last error, and every file with its key, checksums and whether it was stored or skipped.")

    @OptionGroup var storeOptions: StoreOptions

    @Argument(help: "The window's id (the ID column of `orchestrator jobs`).")
    var id: Int64

    @Flag(name: .long, help: "Print one JSON object.")
    var json = false

    func run() async throws {
        let store = try await storeOptions.openStore(fallingBackToDemo: true)
        defer { store.closeStore() }
        guard let job = try await store.job(id: id) else {
            throw JobNotFound(description: "no window with id \(id) in \(store.path) (`orchestrator jobs` lists them)")
        }
        let files = try await store.files(ofJob: id)
        print(json ? try JobStory.json(job, files: files) : JobStory.text(job, files: files))
    }
}

/// `jobs show` was given an id the database does not hold.
struct JobNotFound: Error, CustomStringConvertible {
    let description: String
}
