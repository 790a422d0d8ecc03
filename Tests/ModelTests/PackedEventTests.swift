import Foundation
import Testing
import Generator
@testable import Model

@Suite struct PackedEventTests {
    /// Every event of a generated supply chain and of the GS1 examples packs and unpacks to
    /// its exact raw bytes; generated events pack to well under half their size.
    @Test func eventsUnpackToTheirRawBytes() throws {
        let generator = try SupplyChainGenerator(SupplyChainConfiguration.configuration(approximateEvents: 3_000, seed: 3))
        var rawBytes = 0, storedBytes = 0
        var sources: [[UInt8]] = []
        generator.forEachDocument(eventsPerDocument: 1_000) { sources.append($0) }
        let generatedDocuments = sources.count
        for file in try FileManager.default.contentsOfDirectory(atPath: TestData.gs1Examples.path) where file.hasSuffix(".jsonld") {
            sources.append(try TestData.bytes(TestData.gs1Examples.appendingPathComponent(file)))
        }
        for (index, bytes) in sources.enumerated() {
            let document = try EPCISDocumentParser.parse(bytes, name: "document \(index)")
            // Each event's bytes as the document holds them, found independently of the event
            // (`raw` is unpacked from `stored`, so comparing the two alone proves nothing).
            let original = try Self.eventBytes(of: bytes)
            #expect(original.count == document.events.count)
            for (event, source) in zip(document.events, original) {
                #expect(event.raw == source)
                #expect(event.stored == PackedEvent.pack(source))
                #expect(event.stored.count <= source.count)
                if index < generatedDocuments {
                    rawBytes += event.raw.count
                    storedBytes += event.stored.count
                }
            }
        }
        #expect(generatedDocuments >= 3 && sources.count > generatedDocuments)
        // Generated events (~1 KB of commissioning and packing) pack to about 30%.
        #expect(storedBytes * 100 / rawBytes < 45, "\(storedBytes) of \(rawBytes) bytes")
    }

    /// The bytes of each event object of an EPCIS document (or a query document), in order.
    static func eventBytes(of document: [UInt8]) throws -> [[UInt8]] {
        guard case .object(let root) = try JSONParser.parse(document, limits: EPCISDocumentParser.limits),
              case .object(let body)? = root["epcisBody"] else { return [] }
        var list: JSONValue? = body["eventList"]
        if list == nil, case .object(let results)? = body["queryResults"], case .object(let resultsBody)? = results["resultsBody"] {
            list = resultsBody["eventList"]
        }
        guard case .array(let events)? = list else { return [] }
        return events.compactMap { event in
            guard case .object(let object) = event, let range = object.sourceRange else { return nil }
            return Array(document[range])
        }
    }

    /// Dictionary 1 is part of the store's format: a value packed by this version must
    /// unpack to the same bytes in every later one. If this fails, the dictionary or the
    /// decoder changed, and stores already written would read wrong bytes: give a new
    /// dictionary a new marker instead (`PackedEvent`).
    @Test func aValuePackedByThisVersionUnpacksForever() {
        let event = #"{"type":"ObjectEvent","eventTime":"2025-03-03T01:34:44.646Z","eventTimeZoneOffset":"+05:00","epcList":["https://id.gs1.org/01/04870001000059/21/770EJ4ZI5Z","https://id.gs1.org/01/04870001000059/21/INKKLJ7WUQ"],"action":"ADD","bizStep":"commissioning","disposition":"active","readPoint":{"id":"https://id.gs1.org/414/4870001000110"},"bizLocation":{"id":"https://id.gs1.org/414/4870001000011"},"ilmd":{"tt:manufactureCountry":"KZ","tt:brand":"Saryarka"}}"#
        let stored = "01c4030fa30113ff05352d30332d30335430313a33343a34342e363436a301091235a3010f49010ff00b343837303030313030303035392f32312f373730454a345a49355f000fb700000064010d3500a9494e4b4b4c4a375755517f010c6d010f5b060b00a401018e060f6e01160688003f3131307b011c063c00303031313c001f6984040c104b110107cf03b05361727961726b61227d7d"
        var bytes: [UInt8] = []
        var index = stored.startIndex
        while index < stored.endIndex {
            let next = stored.index(index, offsetBy: 2)
            bytes.append(UInt8(stored[index..<next], radix: 16)!)
            index = next
        }
        #expect(PackedEvent.unpack(bytes) == Array(event.utf8))
        #expect(PackedEvent.dictionary1.bytes.count == 3_332)
    }

    /// Raw bytes longer than `maximumCount` are kept plain; a packed value claiming more is
    /// refused before anything is allocated for it.
    @Test func theLengthIsBounded() {
        let long = Array("{\"a\":\"".utf8) + [UInt8](repeating: 0x61, count: PackedEvent.maximumCount) + Array("\"}".utf8)
        #expect(PackedEvent.pack(long) == long)
        // 0x01, LEB128 2^31, a one-token block.
        #expect(PackedEvent.unpack([0x01, 0x80, 0x80, 0x80, 0x80, 0x08, 0x00]) == nil)
        #expect(PackedEvent.unpack([0x01, 0x80, 0x80, 0x80, 0x20, 0x00]) == nil)
    }

    /// Rows written before packing hold the raw JSON itself, which reads as it is; so does
    /// an event too small to gain from packing.
    @Test func plainBytesReadAsTheyAre() {
        let event = Array(#"{"type":"ObjectEvent"}"#.utf8)
        #expect(PackedEvent.unpack(event) == event)
        let short = Array(#"{"a":1}"#.utf8)
        #expect(PackedEvent.pack(short) == short)
        #expect(PackedEvent.unpack([]) == [])
    }

    /// Bytes that start with the marker cannot be kept plain (they would read as a packed
    /// value): they are packed whatever their length (found by Fuzz/run-pack-fuzz.sh).
    @Test func bytesStartingWithTheMarkerArePackedWhateverTheirLength() {
        for raw: [UInt8] in [[0x01], [0x01, 0x01], [0x01, 0x10, 0x01], [0x01] + Array("{\"type\"}".utf8), [0x01] + [UInt8](repeating: 0x7B, count: 300)] {
            let stored = PackedEvent.pack(raw)
            #expect(stored.first == 0x01)
            #expect(PackedEvent.unpack(stored) == raw, "\(raw.count) bytes")
        }
    }

    /// A packed value whose length or block is damaged is refused, never misread.
    @Test func damagedPackedValuesAreRefused() {
        let raw = Array(#"{"type":"ObjectEvent","eventTime":"2024-01-01T00:00:00Z","epcList":["https://id.gs1.org/01/04870001000059/21/A","https://id.gs1.org/01/04870001000059/21/B"],"action":"ADD"}"#.utf8)
        let stored = PackedEvent.pack(raw)
        #expect(stored.first == 0x01)
        #expect(stored.count < raw.count / 2)
        #expect(PackedEvent.unpack(stored) == raw)
        // The length off by one either way, missing, or absurd.
        var longer = stored
        longer[1] += 1
        #expect(PackedEvent.unpack(longer) == nil)
        var shorter = stored
        shorter[1] -= 1
        #expect(PackedEvent.unpack(shorter) == nil)
        #expect(PackedEvent.unpack([0x01]) == nil)
        #expect(PackedEvent.unpack([0x01, 0x80]) == nil)
        #expect(PackedEvent.unpack([0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01, 0x00]) == nil)
        #expect(PackedEvent.unpack([0x01, 0x00, 0x00]) == [])
        // A block cut short.
        #expect(PackedEvent.unpack(Array(stored.dropLast())) == nil)
    }
}
