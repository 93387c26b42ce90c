import FuzzSupport
import LambaJOSE

// JSON decoding on jansson under the JOSE limits, the JWK Set limits and a roomy limit. Properties:
// the size limit is exact, and every accepted document re-encodes to bytes that decode to the same value.
let limits: [JSONLimits] = [.jose, JSONLimits(maxBytes: 1 << 20, maxDepth: 8), JSONLimits(maxBytes: 1 << 20, maxDepth: 64)]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    let bytes = fuzzInput(start, count)
    for limit in limits {
        let value: JSONValue
        do {
            value = try JSON.decode(bytes, limits: limit)
        } catch {
            require((error.kind == .tooLarge) == (bytes.count > limit.maxBytes), "tooLarge for \(bytes.count) bytes under \(limit.maxBytes)")
            continue
        }
        require(bytes.count <= limit.maxBytes, "accepted \(bytes.count) bytes over the limit")
        let encoded = JSON.encode(value)
        let again: JSONValue
        do {
            again = try JSON.decode(encoded, limits: JSONLimits(maxBytes: Int.max, maxDepth: limit.maxDepth))
        } catch {
            require(false, "re-encoded document does not decode: \(error)")
            continue
        }
        require(again == value, "round trip changed the value")
        require(JSON.encode(again) == encoded, "encoding is not stable")
        if case .object(let object) = value {
            require((try? JSON.decodeObject(bytes, limits: limit)) == object, "decodeObject disagrees with decode")
        }
    }
    return 0
}
