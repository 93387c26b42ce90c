import Foundation
import LambaQRCode
import Testing

/// Symbols are read back by a decoder that is not libqrencode: zbar's `zbarimg` (Debian `zbar-tools`,
/// installed by the test command), from a PBM image of the modules.
@Suite struct QRCodeTests {
    static func decode(_ symbol: QRCode, scale: Int = 4) throws -> String {
        let side = (symbol.width + 8) * scale
        var rows: [String] = []
        for y in 0..<side {
            let row = (0..<side).map { x -> String in
                let (r, c) = (y / scale - 4, x / scale - 4)
                let dark = r >= 0 && c >= 0 && r < symbol.width && c < symbol.width && symbol.isDark(row: r, column: c)
                return dark ? "1" : "0"
            }
            rows.append(row.joined(separator: " "))
        }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("lamba-qr-\(UUID().uuidString).pbm")
        try ("P1\n\(side) \(side)\n" + rows.joined(separator: "\n") + "\n").write(to: file, atomically: true, encoding: .ascii)
        defer { try? FileManager.default.removeItem(at: file) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/zbarimg")
        process.arguments = ["--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", file.path]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "zbarimg found no symbol")
        var text = String(decoding: data, as: UTF8.self)
        if text.hasSuffix("\n") { text.removeLast() }
        return text
    }

    @Test("an otpauth Key URI reads back exactly from the symbol")
    func keyURIRoundTrips() throws {
        let uri = "otpauth://totp/Acme%20Shop:ada%40example.com?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Acme%20Shop&algorithm=SHA1&digits=6&period=30"
        let symbol = try QRCode(uri)
        #expect(symbol.width >= 21 && (symbol.width - 21) % 4 == 0, "a QR symbol is 21 + 4n modules wide")
        #expect(try Self.decode(symbol) == uri)
    }

    @Test("text beyond version 40's capacity, empty text and NUL are refused")
    func capacityAndNUL() {
        #expect(throws: QRCode.EncodingError.self) { try QRCode("") }
        #expect(throws: QRCode.EncodingError.self) { try QRCode("a\u{0}b") }
        #expect(throws: QRCode.EncodingError.self) { try QRCode(String(repeating: "x", count: 3000)) }
    }

    @Test("the SVG draws every dark module inside a four-module quiet zone")
    func svgHasQuietZone() throws {
        let symbol = try QRCode("lamba")
        let svg = symbol.svg()
        let side = symbol.width + 8
        #expect(svg.contains("viewBox=\"0 0 \(side) \(side)\""))
        // The finder pattern's top-left module is dark and sits at (4, 4).
        #expect(symbol.isDark(row: 0, column: 0) && svg.contains("M4 4h7v1h-7z"))
        #expect(!svg.contains("<script"))
    }
}
