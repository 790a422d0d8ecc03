import Foundation

extension SupplyChainGenerator {
    /// Writes the chain as numbered EPCIS 2.0 JSON-LD files (`epcis-000001.jsonld`, …) of at most
    /// `eventsPerDocument` events into `directory`, creating it if needed, and returns the file
    /// URLs in order. A directory that already holds such files (from another run) is
    /// refused before anything is written (`generator.output-not-empty`): a glob over it would
    /// mix two chains.
    @discardableResult
    public func writeDocuments(
        to directory: URL, eventsPerDocument: Int = 1000, fileNamePrefix: String = "epcis"
    ) throws -> [URL] {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let earlier = try FileManager.default.contentsOfDirectory(atPath: directory.path)
            .filter { $0.hasPrefix(fileNamePrefix + "-") && $0.hasSuffix(".jsonld") }
        guard earlier.isEmpty else {
            throw GeneratorError(code: "generator.output-not-empty",
                                 reason: "\(directory.path) already holds \(earlier.count) \(fileNamePrefix)-*.jsonld file\(earlier.count == 1 ? "" : "s") from another run; choose an empty directory or remove them")
        }
        var files: [URL] = []
        try forEachDocument(eventsPerDocument: eventsPerDocument) { document in
            let number = String(files.count + 1)
            let name = fileNamePrefix + "-" + String(repeating: "0", count: max(0, 6 - number.count)) + number + ".jsonld"
            let file = directory.appendingPathComponent(name, isDirectory: false)
            try Data(document).write(to: file, options: .atomic)
            files.append(file)
        }
        return files
    }
}
