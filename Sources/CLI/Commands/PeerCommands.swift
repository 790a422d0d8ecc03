import Foundation
import Crypto
import Model
import Node
import Store

/// `fedtrace peer add|list` (DESIGN §13, docs/sync.md): the federation peers this node pushes
/// its deltas to. A running node picks up a new peer within seconds.
enum PeerCommands {
    static let all: [Command] = [add, list]

    static let add = Command(
        "peer add", summary: "add (or update) a federation peer: its Party and federation endpoint",
        usage: "--data DIR --party XX --endpoint HOST:PORT [--sealing-cert FILE] [--json]",
        options: [dataOption, OptionSpec("party", value: "XX", help: "the peer's Party (code or urn:fctc:party:XX)"),
                  OptionSpec("endpoint", value: "HOST:PORT", help: "the peer's federation listener"),
                  OptionSpec("sealing-cert", value: "FILE", help: "the peer's sealing certificate (PEM); without it the node fetches it from the peer over mutual TLS and checks it against the federation root"),
                  jsonOption]
    ) { arguments, output in
        let party = try ParsedArguments.party(try arguments.required("party"), option: "party")
        let endpoint = try arguments.required("endpoint")
        guard let address = ListenAddress(endpoint), address.port != 0 else {
            throw UsageError(reason: "--endpoint '\(endpoint)' is not HOST:PORT (an IP literal or localhost, and a port)")
        }
        let node = try openNode(arguments)
        guard party != node.configuration.party else { throw UsageError(reason: "\(party.urn) is this node's own Party") }
        var certificate: [UInt8]?
        if let file = arguments.value("sealing-cert") {
            guard let data = FileManager.default.contents(atPath: file) else { throw UsageError(reason: "cannot read \(file)") }
            let parsed = try Certificate(bytes: Array(data))
            guard parsed.partyURN == party.urn else {
                throw UsageError(reason: "\(file) names \(parsed.partyURN ?? parsed.subject), not \(party.urn)")
            }
            if let problem = parsed.purposeProblem(for: .sealing) { throw UsageError(reason: "\(file): \(problem)") }
            let rootPath = node.directory.certificatesPath + "/root.pem"
            if FileManager.default.fileExists(atPath: rootPath) {
                let crl = node.directory.certificatesPath + "/crl.pem"
                let trust = try TrustStore(rootFile: rootPath, crlFile: FileManager.default.fileExists(atPath: crl) ? crl : nil)
                try trust.verify(parsed, purpose: .sealing, at: Date())
            }
            certificate = Array(parsed.pemString.utf8)
        }
        try SyncStore(node.store).addPeer(party: party.urn, endpoint: endpoint, sealingCertificate: certificate)
        if arguments.flag("json") {
            output.json(.object(["party": .string(party.urn), "endpoint": .string(endpoint), "sealingCertificate": .bool(certificate != nil)]))
        } else {
            output.line("peer \(party.urn) at \(endpoint)" + (certificate == nil ? " (sealing certificate fetched from the peer on first contact)" : ""))
        }
        return 0
    }

    static let list = Command(
        "peer list", summary: "list the federation peers with their last contact and error",
        usage: "--data DIR [--json]", options: [dataOption, jsonOption]
    ) { arguments, output in
        let node = try openNode(arguments)
        let report = try node.syncReport()
        let peers = (report["peers"]?.arrayValue ?? []).compactMap(\.objectValue)
        if arguments.flag("json") {
            output.json(.array(peers.map(JSONValue.object)))
            return 0
        }
        if peers.isEmpty { output.line("no peers; add one with 'fedtrace peer add --data DIR --party XX --endpoint HOST:PORT'") }
        for peer in peers {
            let seen = peer["lastSeen"]?.stringValue.map { "last seen \($0)" } ?? "never reached"
            var line = "\(peer["party"]?.stringValue ?? "")  \(peer["endpoint"]?.stringValue ?? "")  \(seen)"
            if let error = peer["lastError"]?.stringValue { line += "  error: \(error)" }
            output.line(line)
        }
        return 0
    }
}
