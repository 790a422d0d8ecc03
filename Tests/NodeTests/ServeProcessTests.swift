import Foundation
import TestSupport
import Testing
import Synchronization
import Model
import Net
import Store
@testable import Node

/// `fedtrace serve` as a real process: the built binary, real signals.
@Suite struct ServeProcessTests {
    /// The debug build of `fedtrace` (built by `swift build`, which CI runs before `swift test`).
    static let executable: String? = {
        let candidates = [".build/debug/fedtrace", ".build/x86_64-unknown-linux-gnu/debug/fedtrace", ".build/aarch64-unknown-linux-gnu/debug/fedtrace"]
        return candidates.map { repositoryRoot.appendingPathComponent($0).path }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }()

    /// Reads a process's standard error in the background; `waitForLine` polls it.
    final class ErrorLines: Sendable {
        private let text = Mutex("")
        func append(_ data: Data) { text.withLock { $0 += String(decoding: data, as: UTF8.self) } }
        var all: String { text.withLock { $0 } }

        func waitForLine(containing marker: String, timeout: Duration = .seconds(15)) -> String? {
            let deadline = ContinuousClock.now + timeout
            while ContinuousClock.now < deadline {
                if let line = all.split(separator: "\n").first(where: { $0.contains(marker) }) { return String(line) }
                Thread.sleep(forTimeInterval: 0.02)
            }
            return nil
        }
    }

    @Test(arguments: [SIGTERM, SIGINT])
    func stopsOnSignalAndKeepsWhatItCaptured(_ signal: Int32) throws {
        let executable = try #require(Self.executable, "build fedtrace first (swift build)")
        let node = try makeNode("serve")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["serve", "--data", node.directory.path]
        let pipe = Pipe()
        process.standardError = pipe
        process.standardOutput = FileHandle.nullDevice
        let lines = ErrorLines()
        pipe.fileHandleForReading.readabilityHandler = { handle in lines.append(handle.availableData) }
        try process.run()
        defer { if process.isRunning { process.terminate() } }

        let listening = try #require(lines.waitForLine(containing: "local API listening on "), "no listener line: \(lines.all)")
        #expect(listening.contains("(plaintext, loopback only)"))
        #expect(lines.waitForLine(containing: "federation listener off") != nil)
        let port = try #require(Int(listening.split(separator: ":").last?.split(separator: " ").first ?? ""))

        let client = try HTTPClient(configuration: .init(host: "127.0.0.1", port: port, requestTimeout: .seconds(20)))
        var hashIDs: [String] = []
        for file in gs1ExampleFiles.prefix(6) {
            let response = try client.send(HTTPRequest(method: .post, target: "/capture", headers: ["Content-Type": "application/ld+json"],
                                                       body: Array(try Data(contentsOf: file))))
            #expect(response.status == 200)
            hashIDs += response.jsonObject?["capturedEventHashIDs"]?.arrayValue?.compactMap(\.stringValue) ?? []
        }
        #expect(!hashIDs.isEmpty)
        // The client keeps its keep-alive connection open: shutdown must close it, not wait for it.
        kill(process.processIdentifier, signal)
        let deadline = ContinuousClock.now + .seconds(15)
        while process.isRunning && ContinuousClock.now < deadline { Thread.sleep(forTimeInterval: 0.02) }
        #expect(!process.isRunning, "serve did not stop")
        process.waitUntilExit()
        #expect(process.terminationReason == .exit)
        #expect(process.terminationStatus == 0)
        pipe.fileHandleForReading.readabilityHandler = nil
        #expect(lines.all.contains("\(signal == SIGTERM ? "SIGTERM" : "SIGINT") received"))
        #expect(lines.all.contains("stopped"))
        #expect(!lines.all.contains("ObjectEvent"), "logs never carry bodies")

        let reopened = try NodeDirectory(path: node.directory.path).open()
        for id in hashIDs { #expect(try !reopened.store.events(hashID: id).isEmpty) }
        #expect(try reopened.store.verifyAudit().isIntact)
        #expect(throws: (any Error).self) { try client.send(HTTPRequest(method: .get, target: "/health")) }
    }
}
