import Configuration
import Foundation

/// Typed reads that refuse a value of the wrong type instead of silently using it: the problem is
/// recorded (naming the key) and the default returned, so reading goes on to the other keys.
struct ConfigValues {
    let reader: ConfigReader
    let problems: ConfigurationProblems
    /// Every key asked for: the loader's known keys.
    let keysRead: KeysRead

    func string(_ key: String, default defaultValue: String, secret: Bool = false) -> String {
        optionalString(key, secret: secret) ?? defaultValue
    }

    func optionalString(_ key: String, secret: Bool = false) -> String? {
        keysRead.insert(key)
        return reader.string(forKey: ConfigKey(key), isSecret: secret)
    }

    func int(_ key: String, default defaultValue: Int) -> Int {
        keysRead.insert(key)
        if let value = reader.int(forKey: ConfigKey(key)) { return value }
        if let raw = reader.string(forKey: ConfigKey(key)) {
            if let value = Int(raw.trimmingCharacters(in: .whitespaces)) { return value }
            problems.add("\(key) must be a whole number (got \(raw))")
        }
        return defaultValue
    }

    func double(_ key: String, default defaultValue: Double) -> Double {
        keysRead.insert(key)
        if let value = reader.double(forKey: ConfigKey(key)) { return value }
        if let value = reader.int(forKey: ConfigKey(key)) { return Double(value) }
        if let raw = reader.string(forKey: ConfigKey(key)) {
            if let value = Double(raw.trimmingCharacters(in: .whitespaces)) { return value }
            problems.add("\(key) must be a number (got \(raw))")
        }
        return defaultValue
    }

    func bool(_ key: String, default defaultValue: Bool) -> Bool {
        keysRead.insert(key)
        if let value = reader.bool(forKey: ConfigKey(key)) { return value }
        if let raw = reader.string(forKey: ConfigKey(key)) {
            switch raw.lowercased() {
            case "true", "yes", "1": return true
            case "false", "no", "0": return false
            default:
                problems.add("\(key) must be true or false (got \(raw))")
                return defaultValue
            }
        }
        return defaultValue
    }

    func stringArray(_ key: String, default defaultValue: [String]) -> [String] {
        keysRead.insert(key)
        if let values = reader.stringArray(forKey: ConfigKey(key)) {
            return values.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
        if let raw = reader.string(forKey: ConfigKey(key)) {
            return raw.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
        return defaultValue
    }
}

/// The keys a reading asked for, in one place so that unknown keys are found against them.
final class KeysRead {
    private(set) var keys: Set<String> = []

    /// Records `key`.
    func insert(_ key: String) { keys.insert(key) }
}
