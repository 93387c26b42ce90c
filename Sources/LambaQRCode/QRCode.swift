internal import CQREncode

/// A QR code symbol (ISO/IEC 18004) made by libqrencode, the only module that imports it. Pages
/// show it as inline SVG, so an enrolment secret never leaves the server for a third-party renderer.
public struct QRCode: Sendable, Equatable {
    /// Modules per side (21 for version 1, four more per version).
    public let width: Int
    /// Row-major, `true` for a dark module.
    public let modules: [Bool]

    public enum EncodingError: Error, Equatable {
        /// The text is empty, holds a NUL, or is longer than a version 40 symbol can carry.
        case cannotEncode(String)
    }

    /// Encodes `text` as 8-bit data with error correction level M (15 % of the symbol may be lost),
    /// in the smallest version that fits.
    public init(_ text: String) throws(EncodingError) {
        // 2,331 bytes is the capacity of version 40-M; libqrencode would fail past it anyway.
        guard !text.isEmpty, !text.utf8.contains(0), text.utf8.count <= 2331 else {
            throw .cannotEncode("a QR code carries 1 to 2,331 bytes of text without NUL")
        }
        guard let symbol = QRcode_encodeString8bit(text, 0, QR_ECLEVEL_M) else {
            throw .cannotEncode("libqrencode could not encode the text")
        }
        defer { QRcode_free(symbol) }
        let width = Int(symbol.pointee.width)
        // Bit 0 of each byte is the module's colour (qrencode.h, "Symbol data").
        let data = UnsafeBufferPointer(start: symbol.pointee.data, count: width * width)
        self.width = width
        self.modules = data.map { $0 & 1 == 1 }
    }

    public func isDark(row: Int, column: Int) -> Bool { modules[row * width + column] }

    /// The symbol as inline SVG with the four-module quiet zone the standard asks for; one path of
    /// horizontal runs keeps it small. The page around it says in words what it holds.
    public func svg(pixelsPerModule: Int = 6) -> String {
        let side = width + 8
        var path = ""
        for row in 0..<width {
            var column = 0
            while column < width {
                guard isDark(row: row, column: column) else { column += 1; continue }
                var run = 1
                while column + run < width, isDark(row: row, column: column + run) { run += 1 }
                path += "M\(column + 4) \(row + 4)h\(run)v1h-\(run)z"
                column += run
            }
        }
        let size = side * pixelsPerModule
        return """
            <svg xmlns="http://www.w3.org/2000/svg" aria-hidden="true" width="\(size)" height="\(size)" \
            viewBox="0 0 \(side) \(side)" shape-rendering="crispEdges"><rect width="\(side)" height="\(side)" fill="#fff"/>\
            <path fill="#000" d="\(path)"/></svg>
            """
    }
}
