import Foundation
import Testing
import Crypto
import Model
import Store
@testable import CLI
@testable import Node
@testable import Sync

/// `fedtrace enquiry send|list|show|approve|reject` and `fedtrace evidence export`, run
/// in-process against two serving nodes; `verify.sh` run with /bin/sh and openssl.
@Suite("Enquiry and evidence commands")
struct EnquiryCommandTests {
    struct Run {
        let status: Int32
        let out: String
        let err: String
    }

    @discardableResult
    func run(_ arguments: String...) -> Run {
        let output = Output.captured()
        let status = CommandLineTool.run(arguments: arguments, output: output)
        return Run(status: status, out: output.standardOutput, err: output.standardError)
    }

    func json(_ run: Run) throws -> JSONValue { try JSONParser.parse(Array(run.out.utf8), limits: EPCISDocumentParser.limits) }

    /// Runs `sh verify.sh` in `directory`: exit status and output.
    func verify(_ directory: String) throws -> (Int32, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = [directory + "/verify.sh"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, text)
    }

    /// Flips one byte of `file` in `directory`, runs `body`, and restores it.
    func tampered(_ directory: String, _ file: String, at fraction: Double = 0.5, _ body: () throws -> Void) throws {
        let path = directory + "/" + file
        let original = try Data(contentsOf: URL(fileURLWithPath: path))
        var bytes = [UInt8](original)
        bytes[Int(Double(bytes.count) * fraction)] ^= 0x01
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        defer { try? original.write(to: URL(fileURLWithPath: path)) }
        try body()
    }

    @Test("send, list, show (the trace), and the evidence of the exchange verified with openssl alone")
    func sendShowAndEvidence() throws {
        let pair = try Pair()
        let sent = run("enquiry", "send", "--data", pair.kz.data, "--uim", TestEvents.pack1, "--purpose", "investigation", "--case", "CASE-42", "--to", "UA", "--json")
        #expect(sent.status == 0, "\(sent.err)")
        let id = try #require(try json(sent).objectValue?["enquiryID"]?.stringValue)
        try eventually("the answer") { try pair.kz.store.enquiry(id, role: .requester)?.status == "answered" }

        let list = run("enquiry", "list", "--data", pair.kz.data)
        #expect(list.status == 0)
        #expect(list.out.contains("\(id)  requester  answered  to urn:fctc:party:UA  investigation  case CASE-42  1 UIM  3 events"), "\(list.out)")
        let received = try json(run("enquiry", "list", "--data", pair.ua.data, "--role", "responder", "--json")).arrayValue ?? []
        #expect(received.count == 1)
        #expect(received.first?.objectValue?["decision"] == "autoAnswer")
        #expect(run("enquiry", "list", "--data", pair.kz.data, "--status", "refused").out.contains("no enquiries"))

        // show by the UUID alone: the record and the trace.
        let show = run("enquiry", "show", "--data", pair.kz.data, String(id.dropFirst("urn:uuid:".count)))
        #expect(show.status == 0, "\(show.err)")
        #expect(show.out.contains("status           answered"), "\(show.out)")
        #expect(show.out.contains("trace: 3 events from urn:fctc:party:UA"))
        #expect(show.out.contains("ObjectEvent  commissioning"))
        #expect(!show.out.contains("UA-F0001-M07"))   // redacted: (c) is not in the answer flow
        let shown = try json(run("enquiry", "show", "--data", pair.kz.data, id, "--json")).objectValue
        #expect(shown?["events"]?.arrayValue?.count == 3)

        // Evidence at the requester: both signed objects, the root and CRL, the signers' certificates.
        let out = pair.kz.root.appendingPathComponent("evidence").path
        let export = run("evidence", "export", "--data", pair.kz.data, "--out", out, "--enquiry", id, "--json")
        #expect(export.status == 0, "\(export.err)")
        let files = Set(try FileManager.default.contentsOfDirectory(atPath: out))
        #expect(files.isSuperset(of: ["enquiry.cms", "enquiry.json", "answer.cms", "answer.json", "root.pem", "crl.pem", "manifest.json", "verify.sh",
                                      "signer-kz-1.pem", "signer-ua-2.pem"]), "\(files.sorted())")
        let manifest = try JSONParser.parse(Array(try Data(contentsOf: URL(fileURLWithPath: out + "/manifest.json"))))
        #expect(manifest.objectValue?["files"]?.arrayValue?.count == files.count - 2)   // all but manifest.json and verify.sh
        // The answer object is byte for byte what UA signed and keeps.
        #expect(try Data(contentsOf: URL(fileURLWithPath: out + "/answer.cms")) == Data(try #require(try pair.ua.store.enquiry(id, role: .responder)?.answerSigned)))
        let (status, text) = try verify(out)
        #expect(status == 0, "\(text)")
        #expect(text.contains("ok   signed  answer.cms (content = answer.json)") && text.hasSuffix("bundle verified\n"), "\(text)")
        for file in ["answer.cms", "enquiry.cms", "answer.json", "manifest.json", "crl.pem"] {
            try tampered(out, file) {
                let (status, text) = try verify(out)
                #expect(status != 0, "verify.sh passed with \(file) altered: \(text)")
                #expect(text.contains("FAIL: \(file)"), "\(text)")
            }
        }
        #expect(try verify(out).0 == 0)
        // A signature that no longer verifies is caught even when the manifest is made to match.
        try tampered(out, "answer.cms", at: 0.6) {
            let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: out + "/answer.cms")))
            let script = try String(contentsOfFile: out + "/verify.sh", encoding: .utf8)
            let line = try #require(script.split(separator: "\n").first { $0.hasPrefix("check_sha 'answer.cms'") })
            let patched = script.replacingOccurrences(of: String(line), with: "check_sha 'answer.cms' \(sha256Hex(bytes))")
            try patched.write(toFile: out + "/verify.sh", atomically: true, encoding: .utf8)
            defer { try? script.write(toFile: out + "/verify.sh", atomically: true, encoding: .utf8) }
            let (status, text) = try verify(out)
            #expect(status != 0)
            #expect(text.contains("FAIL: answer.cms: the signature does not verify"), "\(text)")
        }
        // The responder's bundle verifies too.
        let atUA = pair.ua.root.appendingPathComponent("evidence").path
        #expect(run("evidence", "export", "--data", pair.ua.data, "--out", atUA, "--enquiry", id).status == 0)
        #expect(try verify(atUA).0 == 0)
        #expect(try pair.kz.audit("evidence.export").count == 1)
        // Refusals: both or neither selector, an unknown enquiry, a directory in use.
        #expect(run("evidence", "export", "--data", pair.kz.data, "--out", out + "2").status == 2)
        #expect(run("evidence", "export", "--data", pair.kz.data, "--out", out + "2", "--enquiry", id, "--stream", "x").status == 2)
        #expect(run("evidence", "export", "--data", pair.kz.data, "--out", out + "2", "--enquiry", "urn:uuid:00000000-0000-4000-8000-000000000000").status == 1)
        let busy = run("evidence", "export", "--data", pair.kz.data, "--out", out, "--enquiry", id)
        #expect(busy.status == 1 && busy.err.contains("not an empty directory"), "\(busy.err)")
    }

    @Test("approve and reject at the responder; usage and refusals exit non-zero with one line")
    func approveRejectAndErrors() throws {
        let pair = try Pair(agreement: TestAgreement.text(mode: "manual"))
        func send(_ reference: String) throws -> String {
            let sent = run("enquiry", "send", "--data", pair.kz.data, "--uim", TestEvents.pack1, "--purpose", "investigation", "--case", reference, "--to", "urn:fctc:party:UA")
            #expect(sent.status == 0, "\(sent.err)")
            #expect(sent.out.contains("to urn:fctc:party:UA: delivered"), "\(sent.out)")
            return try #require(try pair.kz.store.enquiries(role: .requester).first { $0.caseReference == reference }?.enquiryID)
        }
        let first = try send("CASE-1"), second = try send("CASE-2")
        let pending = run("enquiry", "list", "--data", pair.ua.data, "--status", "pending")
        #expect(pending.out.split(separator: "\n").count == 2, "\(pending.out)")
        // `status` tells the operator that two enquiries wait for an officer here.
        let waiting = run("status", "--data", pair.ua.data)
        #expect(waiting.out.contains("enquiries received: 2 pending"), "\(waiting.out)")
        let approved = run("enquiry", "approve", "--data", pair.ua.data, first)
        #expect(approved.status == 0 && approved.out.contains("approved: answered with 3 events"), "\(approved.out) \(approved.err)")
        let rejected = run("enquiry", "reject", "--data", pair.ua.data, second, "--reason", "outside our remit", "--json")
        #expect(rejected.status == 0, "\(rejected.err)")
        #expect(try json(rejected).objectValue?["status"] == "refused")
        try eventually("both outcomes at KZ") {
            try pair.kz.store.enquiry(first, role: .requester)?.status == "answered" && pair.kz.store.enquiry(second, role: .requester)?.status == "refused"
        }
        // Both outcomes in status (JSON and text) and in the /metrics gauges.
        let kzStatus = try json(run("status", "--data", pair.kz.data, "--json")).objectValue?["enquiries"]?.objectValue
        #expect(kzStatus?["sent"] == .object(["answered": .number("1"), "refused": .number("1")]), "\(String(describing: kzStatus))")
        #expect(kzStatus?["received"] == .object([:]))
        let uaText = run("status", "--data", pair.ua.data).out
        #expect(uaText.contains("enquiries received: 1 answered, 1 refused"), "\(uaText)")
        let gauges = LocalAPI.enquiryGauges(try pair.ua.node.enquiryReport())
        #expect(gauges.contains { $0.name == "fedtrace_enquiries" && $0.value == 1 && $0.labels.map(\.1) == ["received", "refused"] })
        #expect(!gauges.contains { $0.labels.contains { $0 == ("status", "pending") } })
        // Past the deadline (72 h), an enquiry still waiting counts as overdue; answered ones do not.
        let later = Date().addingTimeInterval(100 * 3600)
        #expect(try pair.kz.node.enquiryReport(now: later)["sent"] == .object(["answered": .number("1"), "refused": .number("1")]))
        let refusedList = run("enquiry", "list", "--data", pair.kz.data, "--status", "refused", "--json")
        #expect(try json(refusedList).arrayValue?.first?.objectValue?["reason"] == "outside our remit")
        // Once decided, not again.
        let again = run("enquiry", "approve", "--data", pair.ua.data, first)
        #expect(again.status == 1 && again.err.contains("enquiry.not-pending"), "\(again.err)")
        // One left waiting is overdue at both ends once its deadline has passed.
        let third = try send("CASE-3")
        try eventually("pending at UA") { try pair.ua.store.enquiry(third, role: .responder)?.status == "pending" }
        #expect(try pair.ua.node.enquiryReport(now: later)["received"] == .object(["answered": .number("1"), "overdue": .number("1"), "refused": .number("1")]))
        #expect(try pair.kz.node.enquiryReport(now: later)["sent"] == .object(["answered": .number("1"), "overdue": .number("1"), "refused": .number("1")]))

        // Usage errors (2) and refusals (1), each one line.
        let cases: [([String], Int32, String)] = [
            (["enquiry", "send", "--data", pair.kz.data, "--purpose", "investigation", "--case", "C", "--to", "UA"], 2, "--uim"),
            (["enquiry", "send", "--data", pair.kz.data, "--uim", TestEvents.pack1, "--case", "C", "--to", "UA"], 2, "--purpose"),
            (["enquiry", "send", "--data", pair.kz.data, "--uim", TestEvents.pack1, "--purpose", "investigation", "--case", "C", "--to", "XYZ"], 2, "--to"),
            (["enquiry", "send", "--data", pair.kz.data, "--uim", TestEvents.pack1, "--purpose", "curiosity", "--case", "C", "--to", "UA"], 1, "enquiry.purpose"),
            (["enquiry", "send", "--data", pair.kz.data, "--uim", "S1", "--purpose", "investigation", "--case", "C", "--to", "UA"], 1, "enquiry.uim"),
            (["enquiry", "send", "--data", pair.kz.data, "--uim", TestEvents.pack1, "--purpose", "investigation", "--case", "C"], 1, "enquiry.no-owner"),
            (["enquiry", "send", "--data", pair.kz.data, "--uim", TestEvents.pack1, "--purpose", "investigation", "--case", "C", "--to", "DE"], 1, "enquiry.no-agreement"),
            (["enquiry", "list", "--data", pair.kz.data, "--role", "boss"], 2, "--role"),
            (["enquiry", "show", "--data", pair.kz.data, "urn:uuid:00000000-0000-4000-8000-000000000000"], 2, "no enquiry"),
            (["enquiry", "show", "--data", pair.kz.data], 2, "exactly one"),
            (["enquiry", "reject", "--data", pair.ua.data, first], 2, "--reason"),
            (["enquiry", "approve", "--data", pair.kz.data, first], 1, "enquiry.unknown"),
        ]
        for (arguments, status, reason) in cases {
            let result = run(arguments)
            #expect(result.status == status, "\(arguments): \(result.status) \(result.err)")
            #expect(result.err.contains(reason), "\(arguments): \(result.err)")
            #expect(result.err.split(separator: "\n").count == 1, "one line: \(result.err)")
        }
        #expect(run("enquiry", "send", "--help").out.contains("--purpose P"))
    }

    @Test("evidence export --stream: the signed deltas and receipts, at the origin and at the receiver")
    func streamEvidence() throws {
        let pair = try Pair(agreement: TestAgreement.text(replicate: true))
        let stream = "\(pair.ua.party.urn)/\(pair.agreement.hash)/ua-to-kz"
        let sync = SyncStore(pair.ua.node.store)
        try eventually("replication UA → KZ acknowledged", timeout: 20) {
            guard let last = try sync.outboundStreams().first(where: { $0.stream == stream })?.lastSequence, last > 0 else { return false }
            return try sync.progress(recipient: pair.kz.party.urn).first { $0.stream == stream }?.acknowledged == last
        }
        for node in [pair.ua, pair.kz] {
            let out = node.root.appendingPathComponent("stream-evidence").path
            let export = run("evidence", "export", "--data", node.data, "--out", out, "--stream", stream)
            #expect(export.status == 0, "\(node.code): \(export.err)")
            let files = try FileManager.default.contentsOfDirectory(atPath: out)
            #expect(files.contains("delta-000001.cms") && files.contains("receipt-KZ.cms"), "\(files.sorted())")
            let (status, text) = try verify(out)
            #expect(status == 0, "\(node.code): \(text)")
            #expect(text.contains("ok   receipt receipt-KZ.json acknowledges delta-"), "\(text)")
            try tampered(out, "delta-000001.cms") {
                let status = try verify(out).0
                #expect(status != 0)
            }
        }
        #expect(run("evidence", "export", "--data", pair.kz.data, "--out", pair.kz.root.appendingPathComponent("x").path, "--stream", "nonsense").status == 1)
    }

    func run(_ arguments: [String]) -> Run {
        let output = Output.captured()
        let status = CommandLineTool.run(arguments: arguments, output: output)
        return Run(status: status, out: output.standardOutput, err: output.standardError)
    }
}

func sha256Hex(_ bytes: [UInt8]) -> String {
    var text = ""
    for byte in Crypto.SHA256.hash(bytes) { text += String(format: "%02x", byte) }
    return text
}
