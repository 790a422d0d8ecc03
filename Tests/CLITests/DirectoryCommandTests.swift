import Foundation
import Testing
import Crypto
import Model
import Node
import Store
import Sync
@testable import CLI

/// A running federation on 127.0.0.1 with random ports: the hub `urn:fctc:hub:gsp` and the
/// Parties KZ and UA, each a `NodeServer` in this process, made with `fedtrace init` from a
/// PKI issued by the repository's `Certs/` scripts (plus a foreign root with its own UA).
final class DirectoryFederation {
    let cli: CLIHarness
    let hub: NodeServer
    let kz: NodeServer
    let ua: NodeServer

    init() throws {
        cli = try CLIHarness()
        let certs = CertificateCommandTests.certs
        try certs("make-root.sh", ["--root", cli.path("root")])
        try certs("issue-hub.sh", ["gsp", cli.path("hub-certs"), "--root", cli.path("root")])
        try certs("issue-party.sh", ["KZ", cli.path("kz-certs"), "--root", cli.path("root")])
        try certs("issue-party.sh", ["UA", cli.path("ua-certs"), "--root", cli.path("root")])
        try certs("make-root.sh", ["--root", cli.path("foreign-root"), "--name", "Not the federation"])
        try certs("issue-party.sh", ["UA", cli.path("foreign-ua-certs"), "--root", cli.path("foreign-root")])
        let listen = ["--api-listen", "127.0.0.1:0", "--fed-listen", "127.0.0.1:0"]
        for (name, options) in [("hub", ["--role", "hub", "--party", "gsp"]), ("kz", ["--party", "KZ"]), ("ua", ["--party", "UA"])] {
            let made = cli.run(["init", "--data", cli.path(name), "--certs", cli.path("\(name)-certs")] + options + listen)
            guard made.status == 0 else { throw TestError("init \(name): \(made.err)") }
        }
        // Replication stays quiet: the Parties have no agreement; their hub workers only poll the mailbox.
        var settings = SyncService.Settings()
        settings.minBackoff = 5
        hub = try NodeServer.start(node: try NodeDirectory(path: cli.path("hub")).open())
        kz = try NodeServer.start(node: try NodeDirectory(path: cli.path("kz")).open(), syncSettings: settings)
        ua = try NodeServer.start(node: try NodeDirectory(path: cli.path("ua")).open(), syncSettings: settings)
        for party in ["kz", "ua"] {
            let added = cli.run("peer", "add", "--data", cli.path(party), "--party", "urn:fctc:hub:gsp", "--endpoint", hubEndpoint)
            guard added.status == 0 else { throw TestError("peer add: \(added.err)") }
        }
    }

    deinit {
        for server in [kz, ua, hub] { server.shutdown(timeout: .seconds(5)) }
    }

    var hubEndpoint: String { "127.0.0.1:\(hub.federationPort ?? 0)" }
    func endpoint(_ server: NodeServer) -> String { "127.0.0.1:\(server.federationPort ?? 0)" }

    func data(_ name: String) -> String { cli.path(name) }

    /// The JSON standard output of a command that must succeed.
    func json(_ arguments: String...) throws -> JSONObject {
        let run = cli.run(arguments + ["--json"])
        guard run.status == 0 else { throw TestError("\(arguments.joined(separator: " ")): status \(run.status): \(run.err)") }
        guard let object = try JSONParser.parse(Array(run.out.utf8)).objectValue else { throw TestError("not a JSON object: \(run.out)") }
        return object
    }

    func node(_ name: String) throws -> OpenNode { try NodeDirectory(path: cli.path(name)).open() }

    /// The folder's signing identity (to make entries the CLI would never make).
    func identity(_ folder: String, _ party: String) throws -> PartyCertificateFolder {
        try PartyCertificateFolder.load(from: cli.path(folder), expectedParty: party)
    }

    func hubPeer(of name: String) throws -> Peer {
        try #require(try SyncStore(node(name).store).peers().first { $0.party == "urn:fctc:hub:gsp" })
    }

    /// The directory audit records of a node, oldest first.
    func audit(_ name: String) throws -> [AuditRecord] {
        try node(name).store.recentAudit(limit: 1000).reversed().filter { $0.action.hasPrefix("directory.") }
    }
}

struct TestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// `fedtrace directory publish|show|owner` against a running hub, the hub's routes and
/// refusals, and a hub that alters or forges an entry (docs/hub.md §2).
@Suite struct DirectoryCommandTests {
    static let kz = "urn:fctc:party:KZ", ua = "urn:fctc:party:UA"

    /// UA's entry content with `folder`'s certificates (which may not be UA's).
    static func content(_ folder: PartyCertificateFolder, version: Int64) throws -> [UInt8] {
        let entry = try DirectoryEntry(party: PartyID(country: "UA"), issued: Date(), version: version, endpoints: [],
                                       transport: folder.transportCertificate, signing: folder.signingCertificate,
                                       sealing: folder.sealingCertificate, competentAuthorities: [], uimPatterns: ["https://id.gs1.org/01/0482"])
        return entry.content
    }

    @Test func partiesPublishThroughTheHubAndEachVerifiesTheOthers() throws {
        let f = try DirectoryFederation()
        // Nothing published yet.
        let empty = f.cli.run("directory", "show", "--data", f.data("ua"))
        #expect(empty.status == 0, "\(empty.err)")
        #expect(empty.out.contains("hub urn:fctc:hub:gsp at \(f.hubEndpoint): 0 entries"), "\(empty.out)")
        #expect(empty.out.contains("no valid directory entries"))

        let kz1 = f.cli.run("directory", "publish", "--data", f.data("kz"), "--endpoint", f.endpoint(f.kz),
                            "--pattern", "https://id.gs1.org/01/0487", "--authority", "State Revenue Committee:customs")
        #expect(kz1.status == 0, "\(kz1.err)")
        #expect(kz1.out.contains("signed directory entry version 1 of urn:fctc:party:KZ"), "\(kz1.out)")
        #expect(kz1.out.contains("1 endpoint, 1 UIM pattern, 1 competent authority"))
        #expect(kz1.out.contains("hub urn:fctc:hub:gsp at \(f.hubEndpoint): stored"))
        let ua1 = try f.json("directory", "publish", "--data", f.data("ua"), "--pattern", "https://id.gs1.org/01/0482",
                             "--pattern", "https://id.gs1.org/01/04870999", "--authority", "State Customs Service of Ukraine:customs")
        #expect(ua1["version"] == .number("1"))
        #expect(ua1["hubs"]?.arrayValue?.first?.objectValue?["status"] == .string("stored"))
        // Publishing again is the next version; the endpoint list is what this run states.
        let kz2 = try f.json("directory", "publish", "--data", f.data("kz"), "--endpoint", f.endpoint(f.kz), "--endpoint", "kz.example.org:9443",
                             "--pattern", "https://id.gs1.org/01/0487", "--authority", "State Revenue Committee:customs")
        #expect(kz2["version"] == .number("2"))

        // UA fetches, verifies and caches both; the hub serves KZ's exact signed bytes.
        let shown = try f.json("directory", "show", "--data", f.data("ua"))
        let entries = shown["entries"]?.arrayValue?.compactMap(\.objectValue) ?? []
        #expect(entries.map { $0["party"]?.stringValue } == [Self.kz, Self.ua])
        #expect(entries.map { $0["version"] } == [.number("2"), .number("1")])
        #expect(entries.first?["source"] == .string("urn:fctc:hub:gsp"))
        #expect(entries.first?["endpoints"] == .array([.string(f.endpoint(f.kz)), "kz.example.org:9443"]))
        #expect(entries.first?["competentAuthorities"] == .array([.object(["name": "State Revenue Committee", "role": "customs"])]))
        #expect(shown["invalid"] == .array([]))
        #expect(shown["hubs"]?.arrayValue?.first?.objectValue?["entries"] == .number("2"))
        let published = try #require(try DirectoryStore(f.node("kz").store).published(version: 2))
        #expect(try DirectoryStore(f.node("hub").store).entry(party: Self.kz)?.signed == published, "the hub stores the bytes as signed")
        #expect(try DirectoryStore(f.node("ua").store).entry(party: Self.kz)?.signed == published)
        #expect(entries.first?["sha256"] == .string(SHA256.hexHash(published)))

        // The text form, for one Party.
        let text = f.cli.run("directory", "show", "--data", f.data("ua"), "--party", "KZ")
        #expect(text.status == 0)
        #expect(text.out.contains("urn:fctc:party:KZ  version 2  issued "), "\(text.out)")
        #expect(text.out.contains("  UIM patterns: https://id.gs1.org/01/0487"))
        #expect(text.out.contains("  competent authorities: State Revenue Committee (customs)"))
        #expect(!text.out.contains("urn:fctc:party:UA  version"))
        let missing = f.cli.run("directory", "show", "--data", f.data("ua"), "--party", "DE", "--cached")
        #expect(missing.status == 1 && missing.err.contains("no valid directory entry for urn:fctc:party:DE"))

        // Owner lookup, by the CLI and by the API the enquiry code calls.
        let owner = try f.json("directory", "owner", "--data", f.data("ua"), "--uim", "urn:epc:id:sgtin:4870123.012345.SER1")
        #expect(owner["owner"] == .string(Self.kz) && owner["pattern"] == .string("https://id.gs1.org/01/0487"))
        #expect(owner["canonical"]?.stringValue?.hasPrefix("https://id.gs1.org/01/0487") == true)
        let longer = f.cli.run("directory", "owner", "--data", f.data("ua"), "--uim", "https://id.gs1.org/01/04870999000011/21/X")
        #expect(longer.status == 0 && longer.out.hasPrefix("urn:fctc:party:UA (pattern https://id.gs1.org/01/04870999"), "\(longer.out)")
        let nobody = f.cli.run("directory", "owner", "--data", f.data("ua"), "--uim", "urn:epc:id:sgtin:5000000.012345.X")
        #expect(nobody.status == 1 && nobody.err.contains("no cached directory entry has a pattern matching"))
        let service = DirectoryService(node: try f.node("ua"))
        let kzEntry = try #require(try service.owner(ofUIM: "urn:epc:id:sgtin:4870123.012345.SER1"))
        #expect(kzEntry.party.urn == Self.kz && kzEntry.version == 2)
        let kzFolder = try f.identity("kz-certs", Self.kz)
        #expect(kzEntry.sealingCertificate == kzFolder.sealingCertificate)
        #expect(kzEntry.transportCertificate == kzFolder.transportCertificate)
        #expect(try service.entry(for: PartyID(country: "KZ"))?.endpoints == [f.endpoint(f.kz), "kz.example.org:9443"])
        #expect(try service.entry(for: PartyID(country: "DE")) == nil)
        // The hub answers the same questions from what it stores (the relay's check).
        #expect(try DirectoryService(node: f.node("hub")).entry(for: PartyID(country: "UA"))?.version == 1)

        // Audit: the hub stored three entries, each Party cached; every chain verifies.
        #expect(try f.audit("hub").map(\.action) == ["directory.store", "directory.store", "directory.store"])
        #expect(try f.audit("hub").allSatisfy { $0.detail.contains("sha256") && !$0.detail.contains("BEGIN CERTIFICATE") })
        #expect(try f.audit("kz").map(\.action) == ["directory.publish", "directory.cache", "directory.publish", "directory.cache"])
        #expect(try f.audit("ua").filter { $0.action == "directory.cache" }.count == 2)
        for name in ["hub", "kz", "ua"] { #expect(f.cli.run("audit", "verify", "--data", f.data(name)).status == 0) }
    }

    @Test func theHubRefusesBadEntriesWithAReasonAndKeepsTheGoodOnes() throws {
        let f = try DirectoryFederation()
        #expect(f.cli.run("directory", "publish", "--data", f.data("kz"), "--pattern", "https://id.gs1.org/01/0487").status == 0)
        #expect(f.cli.run("directory", "publish", "--data", f.data("ua"), "--pattern", "https://id.gs1.org/01/0482").status == 0)
        #expect(f.cli.run("directory", "publish", "--data", f.data("ua"), "--pattern", "https://id.gs1.org/01/0482").status == 0)
        let ua = try f.identity("ua-certs", Self.ua), kz = try f.identity("kz-certs", Self.kz)
        let foreignUA = try f.identity("foreign-ua-certs", Self.ua)
        let uaStore = DirectoryStore(try f.node("ua").store)
        let kzEntry = try #require(try DirectoryStore(f.node("kz").store).published(version: 1))
        let uaVersion1 = try #require(try uaStore.published(version: 1))
        let uaVersion2 = try #require(try uaStore.published(version: 2))

        var unknownMember = String(decoding: try Self.content(ua, version: 7), as: UTF8.self)
        unknownMember = unknownMember.replacingOccurrences(of: #""version":7"#, with: #""version":7,"trusted":true"#)
        let cases: [(String, [UInt8], String, Int64?)] = [
            ("garbage", Array("not an entry".utf8), "directory.signature", nil),
            ("another Party's entry", kzEntry, "directory.identity", nil),
            ("wrong signer", try CMS.sign(try Self.content(ua, version: 7), signer: kz.signingCertificate, key: kz.signingKey), "directory.signer", nil),
            ("another root", try CMS.sign(try Self.content(foreignUA, version: 7), signer: foreignUA.signingCertificate, key: foreignUA.signingKey), "directory.untrusted", nil),
            ("malformed", try CMS.sign(Array(unknownMember.utf8), signer: ua.signingCertificate, key: ua.signingKey), "directory.form", nil),
            ("older version", uaVersion1, "directory.version", 2),
            ("too large", [UInt8](repeating: 0x30, count: Directory.maxSignedBytes + 1), "directory.too-large", nil),
        ]
        let service = DirectoryService(node: try f.node("ua"))
        let hub = try f.hubPeer(of: "ua")
        for (label, bytes, code, current) in cases {
            let delivery = service.post(bytes, to: hub)
            guard case .refused(let error) = delivery.outcome else {
                Issue.record("\(label): \(delivery.outcome)")
                continue
            }
            #expect(error.code == code, "\(label): \(error.code): \(error.reason)")
            #expect(error.current == current, "\(label)")
            #expect(!error.reason.isEmpty)
        }
        // The same bytes again are not a refusal: the hub already holds them.
        guard case .unchanged = service.post(uaVersion2, to: hub).outcome else { Issue.record("a re-post of the held entry was not accepted"); return }

        // Each refusal is audited at the hub with its code, the sender as actor, no payload.
        let refusals = try f.audit("hub").filter { $0.action == "directory.refuse" }
        #expect(refusals.count == cases.count)
        #expect(refusals.allSatisfy { $0.actor == Self.ua })
        for (record, (label, bytes, code, _)) in zip(refusals, cases) {
            #expect(record.detail.contains(#""code":"\#(code)""#), "\(label): \(record.detail)")
            #expect(record.detail.contains(SHA256.hexHash(bytes)), "\(label)")
        }
        #expect(try f.audit("hub").filter { $0.action == "directory.store" }.count == 3)
        #expect(f.cli.run("audit", "verify", "--data", f.data("hub")).status == 0)
        // The good entries are untouched: KZ v1 and UA v2, byte for byte.
        let held = try DirectoryStore(f.node("hub").store).entries()
        #expect(held.map(\.party) == [Self.kz, Self.ua])
        #expect(held.map(\.signed) == [kzEntry, uaVersion2])
        let shown = try f.json("directory", "show", "--data", f.data("kz"))
        #expect(shown["invalid"] == .array([]))
        #expect(shown["entries"]?.arrayValue?.compactMap { $0.objectValue?["version"] } == [.number("1"), .number("2")])

        // Usage errors before anything is signed.
        for (options, reason) in [(["--pattern", "urn:epc:id:sgtin:487"], "Digital Link form"), (["--endpoint", "nowhere"], "is not HOST:PORT"),
                                  (["--authority", "customs"], "must be NAME:ROLE")] {
            let run = f.cli.run(["directory", "publish", "--data", f.data("kz")] + options)
            #expect(run.status == 2 && run.err.contains(reason), "\(run.err)")
        }
        #expect(try DirectoryStore(f.node("kz").store).lastPublishedVersion() == 1)
        // A hub publishes no entry.
        let fromHub = f.cli.run("directory", "publish", "--data", f.data("hub"))
        #expect(fromHub.status == 1 && fromHub.err.contains("only a Party publishes"), "\(fromHub.err)")

        // KZ restored from a backup that predates its entry: the hub holds version 1, so the
        // new version 1 is refused (directory.version, current 1) and KZ signs version 2.
        let kzEvents = try EventStore(path: f.data("kz") + "/fedtrace.sqlite")
        try kzEvents.database.write { db in try db.execute("DELETE FROM directory_published; DELETE FROM directory_entries;") }
        let republished = try f.json("directory", "publish", "--data", f.data("kz"), "--pattern", "https://id.gs1.org/01/0487")
        #expect(republished["version"] == .number("2"))
        #expect(republished["hubs"]?.arrayValue?.first?.objectValue?["status"] == .string("stored"))
        #expect(try DirectoryStore(f.node("hub").store).entry(party: Self.kz)?.version == 2)
        #expect(try f.audit("kz").map(\.action).suffix(4) == ["directory.publish", "directory.cache", "directory.publish", "directory.cache"])
    }

    @Test func anEntryAlteredOrForgedAtTheHubIsRefusedByTheNodes() throws {
        let f = try DirectoryFederation()
        #expect(f.cli.run("directory", "publish", "--data", f.data("kz"), "--endpoint", f.endpoint(f.kz), "--pattern", "https://id.gs1.org/01/0487").status == 0)
        #expect(try f.json("directory", "show", "--data", f.data("ua"))["entries"]?.arrayValue?.count == 1)
        #expect(f.cli.run("directory", "publish", "--data", f.data("kz"), "--endpoint", f.endpoint(f.kz), "--pattern", "https://id.gs1.org/01/0487").status == 0)

        // Someone with the hub's database widens KZ's pattern in the stored version 2.
        let hubStore = try EventStore(path: f.data("hub") + "/fedtrace.sqlite")
        let stored = try #require(try DirectoryStore(hubStore).entry(party: Self.kz))
        var altered = stored.signed
        let needle = Array("01/0487".utf8)
        let at = try #require((0...(altered.count - needle.count)).first { Array(altered[$0..<($0 + needle.count)]) == needle })
        altered.replaceSubrange(at..<(at + needle.count), with: Array("01/0480".utf8))
        try hubStore.database.write { db in
            try db.prepare("UPDATE directory_entries SET signed = ? WHERE party = ?").bind([.blob(altered), .text(Self.kz)]).run()
        }
        let shown = try f.json("directory", "show", "--data", f.data("ua"))
        let invalid = shown["invalid"]?.arrayValue?.compactMap(\.objectValue) ?? []
        #expect(invalid.count == 1)
        #expect(invalid.first?["code"] == .string("directory.signature"))
        #expect(invalid.first?["claimedSigner"] == .string(Self.kz))
        #expect(invalid.first?["hub"] == .string("urn:fctc:hub:gsp"))
        // UA keeps the version 1 it verified before.
        #expect(shown["entries"]?.arrayValue?.compactMap { $0.objectValue?["version"] } == [.number("1")])
        let text = f.cli.run("directory", "show", "--data", f.data("ua"))
        #expect(text.out.contains("invalid entry from urn:fctc:hub:gsp (claims urn:fctc:party:KZ"), "\(text.out)")
        #expect(text.out.contains("directory.signature: the entry's signature does not verify"))

        // The hub signs an entry for KZ itself, at a higher version, with its own key.
        let hubIdentity = try f.identity("hub-certs", "urn:fctc:hub:gsp")
        let kzFolder = try f.identity("kz-certs", Self.kz)
        let forgedContent = try DirectoryEntry(party: PartyID(country: "KZ"), issued: Date(), version: 99, endpoints: ["198.51.100.66:9443"],
                                               transport: kzFolder.transportCertificate, signing: kzFolder.signingCertificate,
                                               sealing: hubIdentity.sealingCertificate, competentAuthorities: [],
                                               uimPatterns: ["https://id.gs1.org/01/0"]).content
        let forged = try CMS.sign(forgedContent, signer: hubIdentity.signingCertificate, key: hubIdentity.signingKey)
        try hubStore.database.write { db in
            try db.prepare("UPDATE directory_entries SET signed = ?, version = 99 WHERE party = ?").bind([.blob(forged), .text(Self.kz)]).run()
        }
        let afterForgery = try f.json("directory", "show", "--data", f.data("ua"))
        #expect(afterForgery["invalid"]?.arrayValue?.first?.objectValue?["code"] == .string("directory.signer"))
        let service = DirectoryService(node: try f.node("ua"))
        let owner = try #require(try service.owner(ofUIM: "urn:epc:id:sgtin:4870123.012345.SER1"))
        #expect(owner.version == 1 && owner.endpoints == [f.endpoint(f.kz)])
        #expect(try service.owner(ofUIM: "urn:epc:id:sgtin:0000001.012345.SER1") == nil, "the forged wide pattern was not taken")
        let ignored = try f.audit("ua").filter { $0.action == "directory.ignore" }
        #expect(ignored.map { $0.actor } == ["urn:fctc:hub:gsp", "urn:fctc:hub:gsp", "urn:fctc:hub:gsp"])
        #expect(ignored.last?.detail.contains(#""code":"directory.signer""#) == true)

        // An edit of UA's own cache is caught too: every read verifies the stored bytes again.
        let uaStore = try EventStore(path: f.data("ua") + "/fedtrace.sqlite")
        var cached = try #require(try DirectoryStore(uaStore).entry(party: Self.kz)).signed
        cached[cached.count / 2] ^= 0x01
        try uaStore.database.write { db in
            try db.prepare("UPDATE directory_entries SET signed = ? WHERE party = ?").bind([.blob(cached), .text(Self.kz)]).run()
        }
        #expect(try DirectoryService(node: f.node("ua")).entry(for: PartyID(country: "KZ")) == nil)
        let cachedOnly = f.cli.run("directory", "show", "--data", f.data("ua"), "--cached")
        #expect(cachedOnly.out.contains("no valid directory entries"), "\(cachedOnly.out)")
    }
}
