public import Foundation

/// Executables of this package that SwiftPM builds next to the test bundle (`lamba`, the store's
/// crash helper), for tests that run them as separate processes.
public enum BuiltExecutables {
    /// - Throws: when `swift build --build-tests` has not built `name`.
    public static func url(_ name: String) throws -> URL {
        let here = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
        for directory in [here, here.deletingLastPathComponent()] {
            let candidate = directory.appendingPathComponent(name)
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        throw ClusterError("\(name) not found next to \(here.path); run `swift build --build-tests` first")
    }
}
