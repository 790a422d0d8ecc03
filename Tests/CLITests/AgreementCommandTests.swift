import Foundation
import Testing
import Model
import Crypto
import Policy
import Node
@testable import CLI

/// `fedtrace agreement …` end to end: a PKI from the Certs/ scripts, nodes KZ and UA, a small
/// generated supply chain captured at KZ.
@Suite(.serialized) struct AgreementCommandTests {
    /// Two initialised nodes (KZ with events, UA), an RU certificate folder, and a drafted agreement.
    struct Federation {
        let cli: CLIHarness
        var kz: String { cli.path("kz-node") }
        var ua: String { cli.path("ua-node") }
        var ru: String { cli.path("ru-node") }
        var draft: String { cli.path("kz-ua.json") }
    }

    func federation(events: Bool = true) throws -> Federation {
        let cli = try CLIHarness()
        try CertificateCommandTests.certs("make-root.sh", ["--root", cli.path("root")])
        for party in ["KZ", "UA", "RU"] {
            try CertificateCommandTests.certs("issue-party.sh", [party, cli.path(party), "--root", cli.path("root")])
        }
        let f = Federation(cli: cli)
        #expect(cli.run("init", "--party", "KZ", "--data", f.kz, "--certs", cli.path("KZ")).status == 0)
        #expect(cli.run("init", "--party", "UA", "--data", f.ua, "--certs", cli.path("UA")).status == 0)
        #expect(cli.run("init", "--party", "RU", "--data", f.ru, "--certs", cli.path("RU")).status == 0)
        if events {
            #expect(cli.run("gen", "--out", cli.path("gen"), "--events", "300", "--per-document", "100000").status == 0)
            let files = try FileManager.default.contentsOfDirectory(atPath: cli.path("gen")).sorted().map { cli.path("gen/\($0)") }
            let capture = cli.run(["capture", "--data", f.kz] + files)
            #expect(capture.status == 0, "\(capture.err)")
        }
        let drafted = cli.run("agreement", "draft", "--data", f.kz, "--with", "UA", "--out", f.draft)
        #expect(drafted.status == 0, "\(drafted.err)")
        return f
    }

    func list(_ cli: CLIHarness, _ data: String) throws -> [JSONObject] {
        let run = cli.run("agreement", "list", "--data", data, "--json")
        #expect(run.status == 0, "\(run.err)")
        return try JSONParser.parse(Array(run.out.utf8)).arrayValue?.compactMap(\.objectValue) ?? []
    }

    func status(_ cli: CLIHarness, _ data: String, _ hash: String) throws -> String? {
        try list(cli, data).first { $0["hash"]?.stringValue == hash }?["status"]?.stringValue
    }

    func signed(_ file: String, _ cli: CLIHarness, signingAt data: String) -> (hash: String, sig: String) {
        let run = cli.run("agreement", "sign", file, "--data", data)
        #expect(run.status == 0, "\(run.err)")
        let words = run.out.split(separator: " ").map(String.init)
        let hash = words.first { $0.count == 64 && $0.allSatisfy(\.isHexDigit) } ?? ""
        return (hash, String(words.last ?? "").trimmingCharacters(in: .whitespacesAndNewlines))
    }

    @Test func draftSignImportExplainAmendTerminateDryRun() throws {
        let f = try federation()
        let cli = f.cli
        // The draft passes lint, names both Parties, and is valid from today.
        let lint = cli.run("agreement", "lint", f.draft)
        #expect(lint.status == 0 && lint.out.contains("0 errors"), "\(lint.out)")
        // A multilateral draft (KZ, UA, BY) lints clean too: one flow per sender and recipient.
        #expect(cli.run("agreement", "draft", "--data", f.kz, "--with", "UA", "--with", "BY", "--out", cli.path("multi.json")).status == 0)
        let multi = cli.run("agreement", "lint", cli.path("multi.json"), "--json")
        #expect(multi.status == 0 && multi.out.contains(#""errors":0"#), "\(multi.out)")
        #expect(cli.run("agreement", "draft", "--data", f.kz).status == 2)
        // Sign at both nodes; import KZ's signature: pending; then UA's: active.
        let (hash, kzSig) = signed(f.draft, cli, signingAt: f.kz)
        #expect(kzSig.hasSuffix(".KZ.sig"))
        let (uaHash, uaSig) = signed(f.draft, cli, signingAt: f.ua)
        #expect(uaHash == hash)
        let first = cli.run("agreement", "import", f.draft, "--sig", kzSig, "--data", f.kz)
        #expect(first.status == 0, "\(first.err)")
        #expect(try status(cli, f.kz, hash) == "pending-signatures (missing: UA)")
        let second = cli.run("agreement", "import", f.draft, "--sig", uaSig, "--sig", kzSig, "--data", f.kz)
        #expect(second.status == 0 && second.out.contains("1 new signature") && second.out.contains("active"), "\(second.out) \(second.err)")
        // Idempotent: importing again changes nothing.
        #expect(cli.run("agreement", "import", f.draft, "--sig", uaSig, "--data", f.kz).out.contains("0 new signatures"))
        #expect(try list(cli, f.kz).count == 1)
        #expect(cli.run("agreement", "show", "--data", f.kz, hash).out.contains("status: active"))
        #expect(cli.run("audit", "list", "--data", f.kz).out.contains("agreement.import"))

        // Explain a shipping event to UA: the flow, its conditions, the removed fields.
        let shipping = cli.run("events", "--data", f.kz, "--biz-step", "shipping", "--json")
        let event = try #require(JSONParser.parse(Array(shipping.out.utf8)).arrayValue?.first?.objectValue)
        let hashID = try #require(event["hashID"]?.stringValue ?? event["eventHashID"]?.stringValue ?? event["hash_id"]?.stringValue,
                                  "\(event.keys)")
        let explain = cli.run("agreement", "explain", "--data", f.kz, "--event", hashID, "--to", "UA")
        #expect(explain.status == 0, "\(explain.err)")
        #expect(explain.out.contains("SHARED by flow kz-shipments-to-ua"), "\(explain.out)")
        #expect(explain.out.contains("[pass] kz-shipments-to-ua: destinationCountry"), "\(explain.out)")
        #expect(explain.out.contains("bizTransactionList: Article 8.4.1 (e)"), "\(explain.out)")
        let redacted = cli.run("agreement", "explain", "--data", f.kz, "--event", hashID, "--to", "UA", "--as-recipient")
        let object = try #require(JSONParser.parse(Array(redacted.out.utf8)).objectValue)
        #expect(object["bizTransactionList"] == nil && object["tt:destinationCountry"]?.stringValue == "UA")
        let json = cli.run("agreement", "explain", "--data", f.kz, "--event", hashID, "--to", "UA", "--json")
        #expect(json.out.contains(#""permitted":true"#) && json.out.contains(#""removed":["#), "\(json.out)")

        // Amendment (version 2, supersedes v1): pending while v1 stays active.
        let text = try String(contentsOfFile: f.draft, encoding: .utf8)
            .replacingOccurrences(of: #""version": 1"#, with: #""version": 2"#)
            .replacingOccurrences(of: #""supersedes": null"#, with: #""supersedes": "\#(hash)""#)
            .replacingOccurrences(of: #""fields": ["h", "j"]"#, with: #""fields": ["e", "h", "j"]"#)
            .replacingOccurrences(of: #""noticeDays": 90"#, with: #""noticeDays": 0"#)
        let amendment = try cli.write("kz-ua-v2.json", text)
        #expect(cli.run("agreement", "lint", amendment).status == 0)
        // Dry run of the amendment against the active v1: the same events, newly exposed (e).
        let dry = cli.run("agreement", "dry-run", "--data", f.kz, amendment, "--json")
        #expect(dry.status == 0, "\(dry.err)")
        #expect(dry.out.contains(#""newlyExposedFields":["bizTransactionList"]"#) && dry.out.contains(#""newlySharedEvents":0"#), "\(dry.out)")
        let (v2, v2KZ) = signed(amendment, cli, signingAt: f.kz)
        let (_, v2UA) = signed(amendment, cli, signingAt: f.ua)
        #expect(cli.run("agreement", "import", amendment, "--sig", v2KZ, "--data", f.kz).status == 0)
        #expect(try status(cli, f.kz, v2) == "pending-signatures (missing: UA)")
        #expect(try status(cli, f.kz, hash) == "active")
        #expect(cli.run("agreement", "import", amendment, "--sig", v2UA, "--data", f.kz).status == 0)
        #expect(try status(cli, f.kz, v2) == "active")
        #expect(try status(cli, f.kz, hash) == "superseded by \(v2)")

        // Terminate v2 (notice 0 days): terminated at once, audited.
        let end = cli.run("agreement", "terminate", "--data", f.kz, v2, "--reason", "test over", "--out", cli.path("v2.KZ.termination.cms"), "--json")
        #expect(end.status == 0 && end.out.contains(#""party":"urn:fctc:party:KZ""#), "\(end.err)")
        #expect(try status(cli, f.kz, v2) == "terminated")
        #expect(cli.run("audit", "list", "--data", f.kz).out.contains("agreement.terminate"))

        // A draft with no active agreement: every shipping event to UA is newly shared.
        let fresh = cli.run("agreement", "dry-run", "--data", f.kz, f.draft, "--json")
        #expect(fresh.status == 0 && !fresh.out.contains(#""newlySharedEvents":0"#), "\(fresh.out)")
        let ua = try #require(JSONParser.parse(Array(fresh.out.utf8)).objectValue?["recipients"]?.arrayValue?.first?.objectValue)
        #expect(ua["party"]?.stringValue == "urn:fctc:party:UA")
        #expect((Int(ua["newlySharedUIMs"]?.stringValueOrNumber ?? "0") ?? 0) > 0, "\(fresh.out)")
        #expect(ua["newlyExposedFields"]?.arrayValue?.contains(.string("tt:destinationCountry")) == true, "\(fresh.out)")
    }

    @Test func aSignatureWhoseCertificateIsRevokedLaterNoLongerCounts() throws {
        let f = try federation(events: false)
        let cli = f.cli
        let (hash, kzSig) = signed(f.draft, cli, signingAt: f.kz)
        let (_, uaSig) = signed(f.draft, cli, signingAt: f.ua)
        #expect(cli.run("agreement", "import", f.draft, "--sig", kzSig, "--sig", uaSig, "--data", f.kz).status == 0)
        #expect(try status(cli, f.kz, hash) == "active")
        try CertificateCommandTests.certs("revoke.sh", [cli.path("UA") + "/signing.pem", "--root", cli.path("root"), "--reason", "keyCompromise"])
        let crl = cli.path("kz-node/certs/crl.pem")
        try? FileManager.default.removeItem(atPath: crl)
        try FileManager.default.copyItem(atPath: cli.path("root") + "/crl.pem", toPath: crl)
        #expect(try status(cli, f.kz, hash) == "pending-signatures (missing: UA)")
        let show = cli.run("agreement", "show", "--data", f.kz, hash)
        #expect(show.out.contains("urn:fctc:party:UA") && show.out.contains("no longer verifies") && show.out.contains("revoked"), "\(show.out)")
    }

    @Test func tamperedAgreementsForeignSignersAndUnknownTermsAreRefused() throws {
        let f = try federation(events: false)
        let cli = f.cli
        let (_, kzSig) = signed(f.draft, cli, signingAt: f.kz)
        let (_, uaSig) = signed(f.draft, cli, signingAt: f.ua)
        let ruSign = cli.run("agreement", "sign", f.draft, "--data", f.ru)
        #expect(ruSign.status == 1 && ruSign.err.contains("not a party"), "\(ruSign.err)")

        // One byte changed in the agreement: its signatures no longer verify; nothing stored.
        var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: f.draft)))
        let index = try #require(bytes.firstIndex(of: UInt8(ascii: "(")))
        bytes[index] = UInt8(ascii: "[")
        let tampered = try cli.write("tampered.json", bytes)
        let refused = cli.run("agreement", "import", tampered, "--sig", kzSig, "--sig", uaSig, "--data", f.kz)
        #expect(refused.status == 1 && refused.err.contains("does not verify"), "\(refused.err)")
        #expect(refused.err.split(separator: "\n").count == 1)
        #expect(try list(cli, f.kz).isEmpty)

        // One byte changed in a signature: refused, nothing stored.
        var signature = Array(try Data(contentsOf: URL(fileURLWithPath: uaSig)))
        signature[signature.count - 10] ^= 0x01
        let badSig = try cli.write("bad.sig", signature)
        let refusedSig = cli.run("agreement", "import", f.draft, "--sig", kzSig, "--sig", badSig, "--data", f.kz)
        #expect(refusedSig.status == 1, "\(refusedSig.err)")
        #expect(try list(cli, f.kz).isEmpty)

        // A valid signature by a third Party (RU signs the canonical bytes with its own key): refused.
        let ruKey = try PrivateKey(contentsOf: cli.path("RU") + "/signing.key")
        let ruCert = try Certificate(contentsOf: cli.path("RU") + "/signing.pem")
        let canonical = try Agreement.parse(Array(try Data(contentsOf: URL(fileURLWithPath: f.draft)))).canonicalBytes
        let foreign = try cli.write("ru.sig", try CMS.sign(canonical, signer: ruCert, key: ruKey, detached: true))
        let nonParty = cli.run("agreement", "import", f.draft, "--sig", kzSig, "--sig", foreign, "--data", f.kz)
        #expect(nonParty.status == 1 && nonParty.err.contains("urn:fctc:party:RU, not a party"), "\(nonParty.err)")
        #expect(try list(cli, f.kz).isEmpty)

        // A second, different agreement covering the same shipments: imported, with an overlap warning.
        #expect(cli.run("agreement", "import", f.draft, "--sig", kzSig, "--data", f.kz).status == 0)
        let other = cli.run("agreement", "draft", "--data", f.kz, "--with", "UA", "--id", "kz-ua-other", "--out", cli.path("other.json"))
        #expect(other.status == 0)
        let overlap = cli.run("agreement", "import", cli.path("other.json"), "--data", f.kz)
        #expect(overlap.status == 0 && overlap.out.contains("warning: lint.overlap"), "\(overlap.out) \(overlap.err)")
        try FileManager.default.removeItem(atPath: f.kz)
        #expect(cli.run("init", "--party", "KZ", "--data", f.kz, "--certs", cli.path("KZ")).status == 0)

        // Unknown term: lint reports it (exit 1), sign and import refuse.
        let unknown = try cli.write("unknown.json", try String(contentsOfFile: f.draft, encoding: .utf8)
            .replacingOccurrences(of: #""receipts": true"#, with: #""receipts": true, "sellTo": "industry""#))
        let lint = cli.run("agreement", "lint", unknown, "--json")
        #expect(lint.status == 1 && lint.out.contains("agreement.unknown-member"), "\(lint.out)")
        #expect(cli.run("agreement", "sign", unknown, "--data", f.kz).status == 1)
        #expect(cli.run("agreement", "import", unknown, "--sig", kzSig, "--data", f.kz).status == 1)
        #expect(try list(cli, f.kz).isEmpty)

        // A Party listed twice, and a flow naming a Party not in the agreement: refused at import.
        let text = try String(contentsOfFile: f.draft, encoding: .utf8)
        // The second party entry, written again with the first Party's identity.
        let twice = try cli.write("twice.json", text.replacingOccurrences(of: #""party": "urn:fctc:party:UA""#, with: #""party": "urn:fctc:party:KZ""#))
        let refusedTwice = cli.run("agreement", "import", twice, "--data", f.kz)
        #expect(refusedTwice.status == 1 && refusedTwice.err.contains("listed twice"), "\(refusedTwice.err)")
        let stranger = try cli.write("stranger.json", text.replacingOccurrences(of: #""to": ["urn:fctc:party:UA"]"#, with: #""to": ["urn:fctc:party:UA", "urn:fctc:party:BY"]"#))
        let refusedStranger = cli.run("agreement", "import", stranger, "--data", f.kz)
        #expect(refusedStranger.status == 1 && refusedStranger.err.contains("urn:fctc:party:BY is not a Party"), "\(refusedStranger.err)")
        #expect(try list(cli, f.kz).isEmpty)
    }
}

extension AgreementCommandTests {
    /// An agreement with `noticeDays`, signed by KZ and UA and imported at `nodes`.
    func agreement(_ f: Federation, id: String, noticeDays: Int, at nodes: [String]) throws -> String {
        let text = try String(contentsOfFile: f.draft, encoding: .utf8)
            .replacingOccurrences(of: #""noticeDays": 90"#, with: #""noticeDays": \#(noticeDays)"#)
            .replacingOccurrences(of: #""id": "kz-ua-"#, with: #""id": "\#(id)-"#)
        let file = try f.cli.write("\(id).json", text)
        let (hash, kzSig) = signed(file, f.cli, signingAt: f.kz)
        let (_, uaSig) = signed(file, f.cli, signingAt: f.ua)
        for node in nodes {
            let run = f.cli.run("agreement", "import", file, "--sig", kzSig, "--sig", uaSig, "--data", node)
            #expect(run.status == 0, "\(run.err)")
        }
        return hash
    }

    @Test func terminationTakesEffectAfterTheNoticePeriod() throws {
        let f = try federation(events: false)
        let cli = f.cli
        // Notice 0: terminated at once, no longer active.
        let now = try agreement(f, id: "notice-0", noticeDays: 0, at: [f.kz])
        #expect(cli.run("agreement", "terminate", "--data", f.kz, now, "--out", cli.path("n0.cms")).status == 0)
        #expect(try status(cli, f.kz, now) == "terminated")

        // Notice 30 days: an earlier --effective is refused (nothing stored); without it, effective = signing + 30 days.
        let hash = try agreement(f, id: "notice-30", noticeDays: 30, at: [f.kz])
        let early = cli.run("agreement", "terminate", "--data", f.kz, hash, "--effective", "2026-01-02")
        #expect(early.status == 1 && early.err.contains("requires 30 days' notice"), "\(early.err)")
        #expect(try status(cli, f.kz, hash) == "active")
        let before = Date()
        let end = cli.run("agreement", "terminate", "--data", f.kz, hash, "--reason", "notice given", "--out", cli.path("kz.cms"), "--json")
        #expect(end.status == 0, "\(end.err)")
        let record = try #require(JSONParser.parse(Array(end.out.utf8)).objectValue)
        let effective = try #require(record["effective"]?.stringValue.flatMap { Timestamp.parse($0) })
        let expected = Int64(before.timeIntervalSince1970) + 30 * 86_400
        #expect(effective.seconds >= expected && effective.seconds <= expected + 5, "\(effective.canonicalUTC)")
        #expect(try status(cli, f.kz, hash) == "terminating (effective \(effective.canonicalUTC))")
        #expect(cli.run("agreement", "show", "--data", f.kz, hash).out.contains("status: terminating (effective"))
        #expect(FileManager.default.fileExists(atPath: cli.path("kz.cms")))

        // Status at given instants: active for evaluation until `effective`, terminated from then on.
        let service = AgreementService(node: try NodeDirectory(path: f.kz).open())
        let at = { (seconds: Int64) in try service.status(named: hash, at: Date(timeIntervalSince1970: Double(seconds))) }
        #expect(try at(effective.seconds - 1).state == .terminating)
        #expect(try at(effective.seconds - 1).isActive)
        #expect(try at(effective.seconds).state == .terminated)
        #expect(try !at(effective.seconds + 86_400).isActive)

        // A later --effective is kept (UA, its own node, on the notice-0 agreement).
        let laterHash = try agreement(f, id: "later", noticeDays: 0, at: [f.ua])
        let later = cli.run("agreement", "terminate", "--data", f.ua, laterHash, "--effective", "2099-01-01",
                            "--out", cli.path("later.cms"))
        #expect(later.status == 0 && later.out.contains("terminating (effective 2099-01-01T00:00:00.000Z)"), "\(later.out) \(later.err)")
    }

    @Test func anotherPartysTerminationIsVerifiedAndImported() throws {
        let f = try federation(events: false)
        let cli = f.cli
        let hash = try agreement(f, id: "notice-30", noticeDays: 30, at: [f.kz])
        // KZ terminates with 30 days' notice and writes the signed record.
        let end = cli.run("agreement", "terminate", "--data", f.kz, hash, "--reason", "notice given", "--out", cli.path("kz.cms"))
        #expect(end.status == 0, "\(end.err)")
        let kzStatus = try #require(try status(cli, f.kz, hash))
        #expect(kzStatus.hasPrefix("terminating (effective "), "\(kzStatus)")

        // UA does not hold the agreement yet: unknown agreement hash, nothing stored.
        let unknown = cli.run("agreement", "import-termination", cli.path("kz.cms"), "--data", f.ua)
        #expect(unknown.status == 1 && unknown.err.contains("not stored here"), "\(unknown.err)")
        #expect(unknown.err.split(separator: "\n").count == 1)

        // Once UA holds it: imported, the same effective date, audited; importing again changes nothing.
        #expect(cli.run("agreement", "import", cli.path("notice-30.json"), "--sig", cli.path("notice-30.json.KZ.sig"),
                        "--sig", cli.path("notice-30.json.UA.sig"), "--data", f.ua).status == 0)
        #expect(try status(cli, f.ua, hash) == "active")
        let imported = cli.run("agreement", "import-termination", cli.path("kz.cms"), "--data", f.ua)
        #expect(imported.status == 0 && imported.out.hasPrefix("imported termination") && imported.out.contains("by urn:fctc:party:KZ"),
                "\(imported.out) \(imported.err)")
        #expect(try status(cli, f.ua, hash) == kzStatus)
        #expect(cli.run("audit", "list", "--data", f.ua).out.contains("agreement.import-termination"))
        let again = cli.run("agreement", "import-termination", cli.path("kz.cms"), "--data", f.ua, "--json")
        #expect(again.status == 0 && again.out.contains(#""new":false"#), "\(again.out) \(again.err)")
        // KZ importing its own record: already held.
        #expect(cli.run("agreement", "import-termination", cli.path("kz.cms"), "--data", f.kz).out.hasPrefix("already held"))

        // Refusals at a fresh UA node holding the agreement: nothing stored.
        try FileManager.default.removeItem(atPath: f.ua)
        #expect(cli.run("init", "--party", "UA", "--data", f.ua, "--certs", cli.path("UA")).status == 0)
        #expect(cli.run("agreement", "import", cli.path("notice-30.json"), "--sig", cli.path("notice-30.json.KZ.sig"),
                        "--sig", cli.path("notice-30.json.UA.sig"), "--data", f.ua).status == 0)

        // A record signed by RU (valid certificate, not a party).
        let ruKey = try PrivateKey(contentsOf: cli.path("RU") + "/signing.key")
        let ruCert = try Certificate(contentsOf: cli.path("RU") + "/signing.pem")
        let effective = String(kzStatus.dropFirst("terminating (effective ".count).dropLast())
        let ruRecord: JSONValue = .object(["agreement": .string(hash), "party": "urn:fctc:party:RU",
                                           "effective": .string(effective), "reason": "not ours"])
        let ru = try cli.write("ru.cms", try CMS.sign(JSONWriter.serialize(ruRecord), signer: ruCert, key: ruKey, detached: false))
        let foreign = cli.run("agreement", "import-termination", ru, "--data", f.ua)
        #expect(foreign.status == 1 && foreign.err.contains("urn:fctc:party:RU, not a party"), "\(foreign.err)")
        #expect(foreign.err.split(separator: "\n").count == 1)

        // KZ's record with one byte changed (the effective year): the signature no longer verifies.
        var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: cli.path("kz.cms"))))
        let marker = Array(#""effective":"2"#.utf8)
        let at = try #require((0...(bytes.count - marker.count)).first { Array(bytes[$0..<$0 + marker.count]) == marker })
        bytes[at + marker.count + 2] ^= 0x01
        let tampered = try cli.write("tampered.cms", bytes)
        let refused = cli.run("agreement", "import-termination", tampered, "--data", f.ua)
        #expect(refused.status == 1 && refused.err.contains("does not verify"), "\(refused.err)")
        #expect(refused.err.split(separator: "\n").count == 1)

        // Signed by KZ but naming UA, or ignoring the 30 days' notice: refused.
        let kzKey = try PrivateKey(contentsOf: cli.path("KZ") + "/signing.key")
        let kzCert = try Certificate(contentsOf: cli.path("KZ") + "/signing.pem")
        func kzRecord(_ name: String, party: String, effective: String) throws -> String {
            let record: JSONValue = .object(["agreement": .string(hash), "party": .string(party), "effective": .string(effective), "reason": ""])
            return try cli.write(name, try CMS.sign(JSONWriter.serialize(record), signer: kzCert, key: kzKey, detached: false))
        }
        let impostor = cli.run("agreement", "import-termination", try kzRecord("as-ua.cms", party: "urn:fctc:party:UA", effective: effective), "--data", f.ua)
        #expect(impostor.status == 1 && impostor.err.contains("names urn:fctc:party:UA but is signed by urn:fctc:party:KZ"), "\(impostor.err)")
        let hasty = cli.run("agreement", "import-termination", try kzRecord("hasty.cms", party: "urn:fctc:party:KZ", effective: "2026-01-01T00:00:00Z"), "--data", f.ua)
        #expect(hasty.status == 1 && hasty.err.contains("before the 30 days' notice"), "\(hasty.err)")

        #expect(try status(cli, f.ua, hash) == "active")
        #expect(!cli.run("audit", "list", "--data", f.ua).out.contains("agreement.import-termination"))
    }
}

extension JSONValue {
    /// A number's source text or a string's value.
    var stringValueOrNumber: String? {
        if case .number(let text) = self { return text }
        return stringValue
    }
}
