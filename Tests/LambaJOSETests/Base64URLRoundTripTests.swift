import LambaJOSE
import Testing

@Suite("base64url round trip")
struct Base64URLRoundTripTests {
    @Test("every byte string of length 0...64 decodes to itself")
    func encodeThenDecode_returnsTheInput() throws {
        for length in 0...64 {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ length) }
            #expect(try Base64URL.decode(Base64URL.encode(bytes)) == bytes)
        }
    }
}
