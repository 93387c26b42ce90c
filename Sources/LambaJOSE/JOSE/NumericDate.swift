public import struct Foundation.Date
import Foundation

/// A NumericDate (RFC 7519 §2): whole seconds since 1970-01-01T00:00:00Z, bounded to years 1970
/// through 9999. A claim's number comes from whoever signed the token, so it is bounded here before
/// anything adds to it, multiplies it or turns it into a `Date`: within these bounds no arithmetic
/// the server does on a date (a leeway, milliseconds for storage) can overflow `Int64`.
public struct NumericDate: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// 1970-01-01T00:00:00Z.
    public static let earliestSeconds: Int64 = 0
    /// 9999-12-31T23:59:59Z.
    public static let latestSeconds: Int64 = 253_402_300_799
    public static let earliest = NumericDate(unchecked: earliestSeconds)
    public static let latest = NumericDate(unchecked: latestSeconds)

    public let secondsSince1970: Int64

    private init(unchecked seconds: Int64) { secondsSince1970 = seconds }

    /// Nil outside 1970…9999.
    public init?(secondsSince1970 seconds: Int64) {
        guard (Self.earliestSeconds...Self.latestSeconds).contains(seconds) else { return nil }
        secondsSince1970 = seconds
    }

    /// A claim's value: an integer or a finite number in range; fractions are truncated toward the
    /// past (RFC 7519 §2 allows non-integer values). - Throws: `malformedClaims` naming the claim.
    public init(claim value: JSONValue, name: String) throws(JOSEError) {
        let seconds: Int64
        switch value {
        case .integer(let integer):
            seconds = integer
        case .real(let real) where real.isFinite && real >= Double(Self.earliestSeconds) && real < Double(Self.latestSeconds + 1):
            seconds = Int64(real.rounded(.down))  // in range, so the conversion cannot trap
        case .real:
            throw .malformedClaims("\(name) is outside the years 1970 to 9999")
        default:
            throw .malformedClaims("\(name) is not a NumericDate")
        }
        guard let date = NumericDate(secondsSince1970: seconds) else { throw .malformedClaims("\(name) is outside the years 1970 to 9999") }
        self = date
    }

    /// A time the server chose (its clock, plus a lifetime it configured); clamped to the range, so
    /// a wrong clock can never trap.
    public init(_ date: Date) {
        let seconds = date.timeIntervalSince1970.rounded(.down)
        if !(seconds >= Double(Self.earliestSeconds)) {
            self = .earliest
        } else if seconds > Double(Self.latestSeconds) {
            self = .latest
        } else {
            self.init(unchecked: Int64(seconds))
        }
    }

    /// Clamped like `init(_ date:)`: for the server's own clock readings in seconds.
    public init(clamping seconds: Int64) {
        self.init(unchecked: min(max(seconds, Self.earliestSeconds), Self.latestSeconds))
    }

    public static func now() -> NumericDate { NumericDate(Date()) }

    public var date: Date { Date(timeIntervalSince1970: TimeInterval(secondsSince1970)) }

    /// `self` moved by `seconds`, clamped to the range: saturating, so it never overflows.
    public func advanced(by seconds: Int64) -> NumericDate {
        let (sum, overflow) = secondsSince1970.addingReportingOverflow(seconds)
        if overflow { return seconds > 0 ? .latest : .earliest }
        return NumericDate(clamping: sum)
    }

    public static func < (lhs: NumericDate, rhs: NumericDate) -> Bool { lhs.secondsSince1970 < rhs.secondsSince1970 }

    public var description: String { String(secondsSince1970) }
}

extension JSONValue {
    public init(_ date: NumericDate) { self = .integer(date.secondsSince1970) }
}
