import Foundation
import Testing
@testable import Generator

@Suite struct SupplyChainGeneratorFilesTests {
    @Test func writesNumberedDocumentsHoldingEveryEvent() throws {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("fedtrace-generator-\(UUID().uuidString)", isDirectory: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let generator = try SupplyChainGenerator(smallConfiguration())
        let files = try generator.writeDocuments(to: directory.appendingPathComponent("out"), eventsPerDocument: 60)
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.appendingPathComponent("out").path).sorted()
        #expect(names == files.map(\.lastPathComponent))
        #expect(names.first == "epcis-000001.jsonld")
        var events = 0
        for file in files {
            let document = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: file)) as? [String: Any])
            let body = try #require(document["epcisBody"] as? [String: Any])
            events += (body["eventList"] as? [Any])?.count ?? 0
        }
        #expect(events == generator.summary().events)
        #expect(files.count == (events + 59) / 60)
    }
}
