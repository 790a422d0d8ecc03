import Foundation
@testable import CLI

/// Runs `fedtrace` commands in-process with captured output, each test in its own
/// temporary directory.
final class CLIHarness {
    let root: URL

    init() throws {
        root = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("fedtrace-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: root) }

    struct Run {
        let status: Int32
        let out: String
        let err: String
    }

    @discardableResult
    func run(_ arguments: String...) -> Run { run(arguments) }

    func run(_ arguments: [String]) -> Run {
        let output = Output.captured()
        let status = CommandLineTool.run(arguments: arguments, output: output)
        return Run(status: status, out: output.standardOutput, err: output.standardError)
    }

    func path(_ name: String) -> String { root.appendingPathComponent(name).path }

    func write(_ name: String, _ text: String) throws -> String {
        try write(name, Array(text.utf8))
    }

    func write(_ name: String, _ bytes: [UInt8]) throws -> String {
        let url = root.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url.path
    }

    static let gs1Examples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared/testdata/epcis-gs1")

    static func gs1Files() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: gs1Examples.path).filter { $0.hasSuffix(".jsonld") }.sorted()
            .map { gs1Examples.appendingPathComponent($0).path }
    }
}
