import Foundation
import Testing
@testable import Generator

@Suite struct JSONWriterTests {
    @Test func escapedStringsRoundTrip() throws {
        let text = "Quote \" backslash \\ newline \n tab \t bell \u{07} Кириллица"
        var writer = JSONWriter()
        writer.raw("[")
        writer.string(text)
        writer.raw("]")
        let parsed = try JSONSerialization.jsonObject(with: Data(writer.bytes)) as? [String]
        #expect(parsed == [text])
    }

    @Test func timestampsMatchFoundation() {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        for milliseconds: Int64 in [0, 951_782_400_123, 1_740_960_000_999, 4_102_444_799_999, 1_709_164_800_000] {
            var writer = JSONWriter()
            writer.timestamp(milliseconds: milliseconds)
            let text = String(decoding: writer.bytes, as: UTF8.self)
            #expect(text == formatter.string(from: Date(timeIntervalSince1970: Double(milliseconds) / 1000)))
        }
    }

    @Test func localTimestampsCarryTheirOffset() {
        var writer = JSONWriter()
        writer.timestamp(milliseconds: 1_740_960_000_250, offsetMinutes: 300)
        writer.raw(" ")
        writer.timestamp(milliseconds: 1_740_960_000_250, offsetMinutes: -210)
        #expect(String(decoding: writer.bytes, as: UTF8.self) == "2025-03-03T05:00:00.250+05:00 2025-03-02T20:30:00.250-03:30")
    }

    @Test func numbers() {
        var writer = JSONWriter()
        writer.integer(-120)
        writer.raw(",")
        writer.integer(0)
        writer.raw(",")
        writer.digits(42, width: 6)
        writer.raw(",")
        writer.alphanumeric10(35)
        #expect(String(decoding: writer.bytes, as: UTF8.self) == "-120,0,000042,000000000Z")
    }
}
