import Foundation
import Testing
import Model
import Policy
import TestSupport

/// A throw-away federation: a root made with Certs/make-root.sh, one certificate folder per
/// Party (Certs/issue-party.sh), one initialised node per Party, agreements drafted with the
/// CLI, edited, signed by every Party and imported everywhere, and every node a peer of
/// every other. Everything lives under one temporary directory; the node processes are
/// killed (by their own process ids) when the cluster goes away.
final class Cluster: @unchecked Sendable {
    // @unchecked Sendable: `nodes` is fixed after init.
    let directory: URL
    let root: String
    let nodes: [String: NodeProcess]
    let label: String

    func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    subscript(code: String) -> NodeProcess { nodes[code]! }

    /// With `hub`, a hub node (key `hub` in `nodes`) that every Party has as a peer; with
    /// `direct: false`, the Parties have only the hub (they reach each other through it).
    init(_ label: String, parties: [String], hub: String? = nil, direct: Bool = true) throws {
        self.label = label
        directory = try makeTemporaryDirectory("fed-\(label)")
        root = directory.appendingPathComponent("root").path
        try certsScript("make-root.sh", ["--root", root])
        var nodes: [String: NodeProcess] = [:]
        if let hub {
            try certsScript("issue-hub.sh", [hub, directory.appendingPathComponent("certs-hub").path, "--root", root])
            nodes["hub"] = try NodeProcess(code: hub, data: directory.appendingPathComponent("node-hub").path,
                                           certificates: directory.appendingPathComponent("certs-hub").path,
                                           log: directory.appendingPathComponent("serve-hub.log").path, hub: true)
        }
        for code in parties {
            try certsScript("issue-party.sh", [code, directory.appendingPathComponent("certs-\(code)").path, "--root", root])
            nodes[code] = try NodeProcess(code: code, data: directory.appendingPathComponent("node-\(code)").path,
                                          certificates: directory.appendingPathComponent("certs-\(code)").path,
                                          log: directory.appendingPathComponent("serve-\(code).log").path)
        }
        self.nodes = nodes
        for node in nodes.values {
            node.onPortChange = { [unowned self] moved in
                for other in self.nodes.values where other !== moved {
                    guard !other.urn.hasPrefix("urn:fctc:hub:"), direct || moved.urn.hasPrefix("urn:fctc:hub:") else { continue }
                    try fedtraceOK("peer", "add", "--data", other.data, "--party", moved.urn, "--endpoint", moved.endpoint)
                }
            }
        }
        // Every Party knows every other as a peer (its endpoint; sealing certificates are fetched
        // over mutual TLS), or only the hub; the hub needs no peers.
        for node in nodes.values where !node.urn.hasPrefix("urn:fctc:hub:") {
            for other in nodes.values where other !== node && (direct || other.urn.hasPrefix("urn:fctc:hub:")) {
                try fedtraceOK("peer", "add", "--data", node.data, "--party", other.urn, "--endpoint", other.endpoint)
            }
        }
    }

    deinit {
        for node in nodes.values { node.kill9() }
        if ProcessInfo.processInfo.environment["FEDTRACE_KEEP_TEST_DIRECTORIES"] == nil {
            try? FileManager.default.removeItem(at: directory)
        }
    }

    func startAll() throws { for code in nodes.keys.sorted() { try nodes[code]!.start() } }

    /// SIGTERM to every running node; each must exit 0.
    func stopAll() throws {
        for node in nodes.values where node.isRunning {
            let status = try node.stop()
            #expect(status == 0, "serve \(node.code) exited \(status): \(node.logText().suffix(2000))")
        }
    }

    /// Drafts an agreement at `drafter` with the other Parties, lets `edit` change the
    /// document (the flows, above all), lints it, has every Party sign it and imports it with
    /// all signatures at every node. Returns it as Policy parses it.
    func agreement(drafter: String, with others: [String], file: String = "agreement", edit: (inout JSONObject) throws -> Void) throws -> Agreement {
        let draft = path("\(file).draft.json"), final = path("\(file).json")
        try fedtraceOK(["agreement", "draft", "--data", self[drafter].data, "--out", draft] + others.flatMap { ["--with", $0] })
        guard let bytes = FileManager.default.contents(atPath: draft), case .object(var document) = try JSONParser.parse(Array(bytes)) else {
            throw CommandFailure(description: "the draft \(draft) is not a JSON object")
        }
        try edit(&document)
        try Data(JSONWriter.serialize(.object(document))).write(to: URL(fileURLWithPath: final))
        let lint = try fedtrace("agreement", "lint", final)
        guard lint.status == 0 else { throw CommandFailure(description: "agreement lint: \(lint)") }
        var signatures: [String] = []
        for code in ([drafter] + others) {
            let signed = try fedtraceOK("agreement", "sign", final, "--data", self[code].data)
            signatures.append(String(signed.out.split(separator: " ").last ?? "").trimmingCharacters(in: .whitespacesAndNewlines))
        }
        for code in ([drafter] + others) {
            let imported = try fedtraceOK(["agreement", "import", final, "--data", self[code].data] + signatures.flatMap { ["--sig", $0] })
            guard imported.out.contains("status: active") else { throw CommandFailure(description: "import at \(code): \(imported)") }
        }
        return try Agreement.parse(Array(try Data(contentsOf: URL(fileURLWithPath: final))))
    }

    /// `fedtrace gen` into `name` (a folder under the cluster): the document paths, sorted.
    func generate(_ name: String, events: Int, perDocument: Int, from: String, to: String, seed: Int) throws -> [String] {
        let out = path(name)
        try fedtraceOK("gen", "--out", out, "--events", String(events), "--per-document", String(perDocument),
                       "--from", from, "--to", to, "--seed", String(seed))
        return try FileManager.default.contentsOfDirectory(atPath: out).filter { $0.hasSuffix(".jsonld") }.sorted().map { out + "/" + $0 }
    }
}

/// A `replicate` flow as agreements write it.
func replicateFlow(_ id: String, from: [String], to: [String], rowFilter: JSONObject, fields: [String], retentionDays: Int = 365) -> JSONValue {
    .object([
        "id": .string(id), "from": .array(from.map { .string("urn:fctc:party:\($0)") }), "to": .array(to.map { .string("urn:fctc:party:\($0)") }),
        "action": "replicate", "rowFilter": .object(rowFilter), "fields": .array(fields.map(JSONValue.string)),
        "duties": .object(["retentionDays": .number(String(retentionDays)), "receipts": true]),
    ])
}

extension Agreement {
    /// The stream name of flow `flow` originated by `origin`.
    func stream(_ flow: String, origin: String) -> String { "urn:fctc:party:\(origin)/\(hash)/\(flow)" }
}
