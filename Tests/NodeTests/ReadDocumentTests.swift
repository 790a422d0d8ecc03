import Foundation
import Testing
@testable import Node

/// `CaptureService.readDocument`: the file's exact bytes, whatever its size, and nothing
/// above the configured limit.
@Suite struct ReadDocumentTests {
    @Test func readsExactlyTheFileUpToTheLimit() throws {
        let node = try makeNode("read-document") { $0.maxDocumentBytes = 300_000 }
        let service = CaptureService(node: node)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("fedtrace-read-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        for size in [0, 1, 4095, 65_537, 300_000] {
            let bytes = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
            let path = folder + "/f\(size)"
            FileManager.default.createFile(atPath: path, contents: Data(bytes))
            #expect(try service.readDocument(atPath: path) == bytes, "size \(size)")
        }
        let over = folder + "/over"
        FileManager.default.createFile(atPath: over, contents: Data(count: 300_001))
        #expect { _ = try service.readDocument(atPath: over) } throws: { ($0 as? NodeError)?.code == "capture.too-large" }
    }
}
