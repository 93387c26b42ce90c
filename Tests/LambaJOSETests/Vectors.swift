import Foundation
import LambaJOSE

/// The RFC appendix vectors under `Keys/vectors/`, used as they are.
struct Vector {
    let json: JSONObject

    init(_ name: String) throws {
        let url = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Keys/vectors/\(name).json")
        json = try JSON.decodeObject(Array(Data(contentsOf: url)))
    }

    var jwk: JWK { get throws { try JWK(json: json["jwk"]!.objectValue!) } }
    func string(_ name: String) -> String { json[name]!.stringValue! }
}

func bytes(_ string: String) -> [UInt8] { Array(string.utf8) }

/// Builds a compact JWS by hand, for tokens Lamba would never sign itself.
func handmadeJWS(header: String, payload: String, signature: [UInt8] = [1, 2, 3]) -> String {
    Base64URL.encode(bytes(header)) + "." + Base64URL.encode(bytes(payload)) + "." + Base64URL.encode(signature)
}
