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

    /// A directory holding another run's documents is refused before anything is written.
    @Test func aDirectoryWithEarlierDocumentsIsRefused() throws {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("fedtrace-generator-\(UUID().uuidString)", isDirectory: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let generator = try SupplyChainGenerator(smallConfiguration())
        let first = try generator.writeDocuments(to: directory, eventsPerDocument: 60)
        let before = try first.map { try Data(contentsOf: $0) }
        #expect { try generator.writeDocuments(to: directory, eventsPerDocument: 1000) } throws: {
            ($0 as? GeneratorError)?.code == "generator.output-not-empty"
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).count == first.count)
        #expect(try first.map { try Data(contentsOf: $0) } == before)
        // Other files do not count: a directory with a README is fine.
        let other = directory.appendingPathComponent("other", isDirectory: true)
        try FileManager.default.createDirectory(at: other, withIntermediateDirectories: true)
        try Data("notes".utf8).write(to: other.appendingPathComponent("README.md"))
        #expect(try generator.writeDocuments(to: other, eventsPerDocument: 1000).count >= 1)
    }
}

