import Foundation
import Testing
import Model
@testable import CLI

/// `fedtrace peer add|list` and the replication lines of `status`.
@Suite struct PeerCommandTests {
    /// A KZ node with its certificate folder, and UA's and a foreign KZ's folders beside it.
    func node() throws -> (cli: CLIHarness, kz: String) {
        let cli = try CLIHarness()
        try CertificateCommandTests.certs("make-root.sh", ["--root", cli.path("root")])
        try CertificateCommandTests.certs("make-root.sh", ["--root", cli.path("other-root"), "--name", "Another federation"])
        for party in ["KZ", "UA"] {
            try CertificateCommandTests.certs("issue-party.sh", [party, cli.path(party), "--root", cli.path("root")])
        }
        try CertificateCommandTests.certs("issue-party.sh", ["UA", cli.path("foreign-UA"), "--root", cli.path("other-root")])
        let kz = cli.path("kz")
        let made = cli.run("init", "--party", "KZ", "--data", kz, "--certs", cli.path("KZ"))
        #expect(made.status == 0, "\(made.err)")
        return (cli, kz)
    }

    @Test func addListAndUpdateAPeer() throws {
        let (cli, kz) = try node()
        let empty = cli.run("peer", "list", "--data", kz)
        #expect(empty.status == 0 && empty.out.contains("no peers"))
        let added = cli.run("peer", "add", "--data", kz, "--party", "UA", "--endpoint", "127.0.0.1:9444")
        #expect(added.status == 0 && added.out.contains("urn:fctc:party:UA at 127.0.0.1:9444"), "\(added.err)")
        // With the peer's sealing certificate given up front (checked against our root).
        let withCert = cli.run("peer", "add", "--data", kz, "--party", "urn:fctc:party:UA", "--endpoint", "[::1]:9555",
                               "--sealing-cert", cli.path("UA/sealing.pem"), "--json")
        #expect(withCert.status == 0, "\(withCert.err)")
        let object = try JSONParser.parse(Array(withCert.out.utf8)).objectValue
        #expect(object?["sealingCertificate"] == .bool(true))
        let list = cli.run("peer", "list", "--data", kz, "--json")
        let peers = try JSONParser.parse(Array(list.out.utf8)).arrayValue?.compactMap(\.objectValue) ?? []
        #expect(peers.count == 1)
        #expect(peers.first?["party"]?.stringValue == "urn:fctc:party:UA")
        #expect(peers.first?["endpoint"]?.stringValue == "[::1]:9555")
        #expect(peers.first?["lastSeen"] == .null)
        let text = cli.run("peer", "list", "--data", kz)
        #expect(text.out.contains("urn:fctc:party:UA  [::1]:9555  never reached"), "\(text.out)")
        // Status shows the peer; the audit log has both additions and still verifies.
        let status = cli.run("status", "--data", kz)
        #expect(status.out.contains("peer      urn:fctc:party:UA at [::1]:9555: never reached"), "\(status.out)")
        let audit = cli.run("audit", "list", "--data", kz)
        #expect(audit.out.components(separatedBy: "peer.add").count - 1 == 2, "\(audit.out)")
        #expect(cli.run("audit", "verify", "--data", kz).status == 0)
        // status --json carries the sync section.
        let json = try JSONParser.parse(Array(cli.run("status", "--data", kz, "--json").out.utf8)).objectValue
        let sync = json?["sync"]?.objectValue
        #expect(sync?["peers"]?.arrayValue?.count == 1)
        #expect(sync?["outbound"]?.arrayValue?.isEmpty == true)
    }

    @Test(arguments: [
        (["--party", "UA", "--endpoint", "somewhere"], "is not HOST:PORT"),
        (["--party", "UA", "--endpoint", "127.0.0.1:0"], "is not HOST:PORT"),
        (["--party", "UA", "--endpoint", "127.0.0.1:70000"], "is not HOST:PORT"),
        (["--party", "KZ", "--endpoint", "127.0.0.1:9444"], "this node's own Party"),
        (["--party", "XYZ", "--endpoint", "127.0.0.1:9444"], "party"),
        (["--endpoint", "127.0.0.1:9444"], "--party"),
        (["--party", "UA"], "--endpoint"),
        (["--party", "UA", "--endpoint", "127.0.0.1:9444", "--sealing-cert", "KZ/sealing.pem"], "names urn:fctc:party:KZ, not urn:fctc:party:UA"),
        (["--party", "UA", "--endpoint", "127.0.0.1:9444", "--sealing-cert", "UA/signing.pem"], "not a sealing certificate"),
        (["--party", "UA", "--endpoint", "127.0.0.1:9444", "--sealing-cert", "foreign-UA/sealing.pem"], "does not chain to the federation root"),
        (["--party", "UA", "--endpoint", "127.0.0.1:9444", "--sealing-cert", "missing.pem"], "cannot read"),
    ])
    func badPeersAreRefusedAndStoreNothing(_ options: [String], _ reason: String) throws {
        let (cli, kz) = try node()
        let resolved = options.map { $0.hasSuffix(".pem") ? cli.path($0) : $0 }
        let run = cli.run(["peer", "add", "--data", kz] + resolved)
        #expect(run.status != 0)
        #expect(run.err.contains(reason), "\(run.err)")
        #expect(!run.err.contains("\n") || run.err.split(separator: "\n").count == 1, "one line: \(run.err)")
        let list = cli.run("peer", "list", "--data", kz, "--json")
        #expect(list.out.trimmingCharacters(in: .whitespacesAndNewlines) == "[]")
    }
}
