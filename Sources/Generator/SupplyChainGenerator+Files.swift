import Foundation

extension SupplyChainGenerator {
    /// Writes the chain as numbered EPCIS 2.0 JSON-LD files (`epcis-000001.jsonld`, …) of at most
    /// `eventsPerDocument` events into `directory`, creating it if needed, and returns the file
    /// URLs in order. Existing files of the same names are replaced.
    @discardableResult
    public func writeDocuments(
        to directory: URL, eventsPerDocument: Int = 1000, fileNamePrefix: String = "epcis"
    ) throws -> [URL] {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
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
