import Foundation

/// Locations of shared test data: `../shared/testdata` beside the repository, and this
/// target's own vectors.
enum TestData {
    static let repositoryRoot: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let gs1Examples = repositoryRoot.deletingLastPathComponent().appendingPathComponent("shared/testdata/epcis-gs1")
    static let vectors = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Vectors")

    static func bytes(_ url: URL) throws -> [UInt8] {
        Array(try Data(contentsOf: url))
    }

    /// Rows of a tab-separated file with a header line.
    static func tsv(_ url: URL) throws -> [[String]] {
        let text = String(decoding: try Data(contentsOf: url), as: UTF8.self)
        return text.split(separator: "\n", omittingEmptySubsequences: true).dropFirst().map { line in
            line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
        }
    }
}
