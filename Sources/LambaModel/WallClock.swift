public import Foundation

/// The time, as every rule of the domain reads it: one value, handed to each service and handler
/// that needs it, so that a test moves one clock and every rule sees the same instant.
public struct WallClock: Sendable {
    private let read: @Sendable () -> Date

    public init(_ read: @escaping @Sendable () -> Date) {
        self.read = read
    }

    public func now() -> Date { read() }

    /// The machine's clock: the one place the domain reads it.
    public static let system = WallClock { Date.now }
}
