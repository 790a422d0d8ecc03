import Foundation
import Synchronization
import Model
import Net
import TestSupport
@testable import Node

/// The repository root (this file is Tests/NodeTests/NodeTestSupport.swift).
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// The GS1 EPCIS 2.0 examples beside the repository (`../shared/testdata/epcis-gs1`).
let gs1ExampleFiles: [URL] = {
    let folder = repositoryRoot.deletingLastPathComponent().appendingPathComponent("shared/testdata/epcis-gs1")
    let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
    return names.filter { $0.hasSuffix(".jsonld") }.sorted().map { folder.appendingPathComponent($0) }
}()

/// A new node in a fresh temp directory (listeners on loopback, port 0).
func makeNode(_ label: String, party: String = "KZ", configure: (inout NodeConfiguration) -> Void = { _ in }) throws -> OpenNode {
    var configuration = NodeConfiguration(party: try PartyID(country: party), role: .party,
                                          apiListen: "127.0.0.1:0", federationListen: "127.0.0.1:0")
    configure(&configuration)
    return try NodeDirectory.initialize(at: try makeTemporaryDirectory(label).appendingPathComponent("node").path, configuration: configuration)
}

/// Collects log lines (tests assert on them).
final class LogLines: Sendable {
    private let lines = Mutex<[String]>([])
    func append(_ line: String) { lines.withLock { $0.append(line) } }
    var all: [String] { lines.withLock { $0 } }
}

/// A running node server plus a plaintext client for its local API.
struct RunningNode {
    let node: OpenNode
    let server: NodeServer
    let client: HTTPClient
    let log: LogLines

    init(_ node: OpenNode) throws {
        self.node = node
        let log = LogLines()
        self.log = log
        server = try NodeServer.start(node: node, log: { log.append($0) })
        client = try HTTPClient(configuration: .init(host: "127.0.0.1", port: server.apiPort, requestTimeout: .seconds(20)))
    }

    func get(_ target: String, headers: HTTPHeaders = [:]) throws -> HTTPResponse {
        try client.send(HTTPRequest(method: .get, target: target, headers: headers))
    }

    func post(_ target: String, body: [UInt8], contentType: String = "application/ld+json") throws -> HTTPResponse {
        try client.send(HTTPRequest(method: .post, target: target, headers: ["Content-Type": contentType], body: body))
    }

    func stop() { server.shutdown(timeout: .seconds(5)) }
}

extension HTTPResponse {
    /// The body parsed as JSON (nil if it is not JSON).
    /// GS1's examples repeat a key (`eventID`), so parse as EPCIS input is parsed: last wins.
    var json: JSONValue? { try? JSONParser.parse(body, limits: EPCISDocumentParser.limits) }
    var jsonObject: JSONObject? { json?.objectValue }
    var text: String { String(decoding: body, as: UTF8.self) }
}

extension JSONValue {
    var intValue: Int? { if case .number(let text) = self { return Int(text) } else { return nil } }
}

/// A stored event's raw bytes as JSON (repeated keys: last wins, as EPCIS input).
func parseEvent(_ raw: [UInt8]) -> JSONValue {
    (try? JSONParser.parse(raw, limits: EPCISDocumentParser.limits)) ?? .null
}

/// Percent-encodes a path segment or query value.
func encoded(_ text: String) -> String { EventQueryParameters.percentEncode(text) }

/// The events of an EPCISQueryDocument body.
func eventList(_ response: HTTPResponse) -> [JSONValue] {
    response.jsonObject?["epcisBody"]?.objectValue?["queryResults"]?.objectValue?["resultsBody"]?.objectValue?["eventList"]?.arrayValue ?? []
}

extension TestPKI {
    /// Installs the KZ node's certificate folder (DESIGN §4 layout) into `node`'s data directory.
    func install(into node: OpenNode, crl: Bool = true) throws {
        let certs = node.directory.certificatesPath
        try FileManager.default.createDirectory(atPath: certs, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        var files = [("root.pem", "root.pem"), ("kz.pem", "transport.pem"), ("kz.key", "transport.key")]
        if crl { files.append(("crl.pem", "crl.pem")) }
        for (from, to) in files {
            try FileManager.default.copyItem(atPath: path(from), toPath: certs + "/" + to)
        }
        chmod(certs + "/transport.key", 0o600)
    }
}
