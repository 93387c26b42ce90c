import LambaJOSE
import Testing

@Suite("JSON on jansson")
struct JSONTests {
    @Test("duplicate member names are refused")
    func duplicatesRefused() {
        #expect(throws: JSONError.self) { try JSON.decode(#"{"alg":"ES256","alg":"none"}"#) }
        do {
            _ = try JSON.decode(#"{"a":{"b":1,"b":2}}"#)
            Issue.record("duplicate accepted")
        } catch {
            #expect(error.kind == .duplicateMemberName)
        }
    }

    @Test("documents over the size limit are refused before parsing")
    func sizeLimit() {
        let big = "[" + String(repeating: "1,", count: 40_000) + "1]"
        do {
            _ = try JSON.decode(big, limits: JSONLimits(maxBytes: 64 * 1024, maxDepth: 16))
            Issue.record("oversized document accepted")
        } catch {
            #expect(error.kind == .tooLarge)
        }
    }

    @Test("nesting deeper than the limit is refused")
    func depthLimit() throws {
        let deep = String(repeating: "[", count: 17) + String(repeating: "]", count: 17)
        do {
            _ = try JSON.decode(deep, limits: .jose)
            Issue.record("deep document accepted")
        } catch {
            #expect(error.kind == .tooDeep)
        }
        let fine = String(repeating: "[", count: 16) + String(repeating: "]", count: 16)
        _ = try JSON.decode(fine, limits: .jose)
    }

    @Test("integers are exact 64-bit values; overflow is refused")
    func exactNumbers() throws {
        #expect(try JSON.decode("9007199254740993") == .integer(9_007_199_254_740_993))
        #expect(try JSON.decode("-9223372036854775808") == .integer(Int64.min))
        #expect(throws: JSONError.self) { try JSON.decode("9223372036854775808") }
        #expect(try JSON.decode("1.5") == .real(1.5))
        #expect(try JSON.decode("1e2") == .real(100))
    }

    @Test("malformed documents are refused with a position", arguments: ["{", "{\"a\":}", "[1,]", "nul", "\"\\u0000\"", "{\"a\":1} x", ""])
    func malformed(input: String) {
        #expect(throws: JSONError.self) { try JSON.decode(input) }
    }

    @Test("encoding is compact, keeps member order and round-trips")
    func encodingStable() throws {
        var object = JSONObject()
        object["z"] = 1
        object["a"] = .string("x/y \"q\" é")
        object["m"] = .array([.bool(true), .null, .real(0.1), .integer(-5)])
        let encoded = JSON.encodeString(.object(object))
        #expect(encoded == #"{"z":1,"a":"x/y \"q\" é","m":[true,null,0.10000000000000001,-5]}"#)
        #expect(try JSON.decode(encoded) == .object(object))
        #expect(JSON.encodeString(.object(object)) == encoded)
    }

    @Test("strings with embedded NUL and non-ASCII survive encoding")
    func unusualStrings() throws {
        let value = JSONValue.string("a\u{0}b\u{1F600}")
        #expect(JSON.encodeString(value) == "\"a\\u0000b\u{1F600}\"")
    }
}
