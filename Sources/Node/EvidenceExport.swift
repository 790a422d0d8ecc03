import Foundation
import Core
import Crypto
import Model
import Store
import Sync

/// One file of an evidence bundle.
public struct EvidenceFile: Sendable, Equatable {
    public let name: String
    public let sha256: String
    public let description: String
}

/// What `fedtrace evidence export` wrote.
public struct EvidenceBundle: Sendable {
    public let directory: String
    /// `enquiry` or `stream`.
    public let kind: String
    public let subject: String
    public let files: [EvidenceFile]
}

/// `fedtrace evidence export` (DESIGN §11, docs/hub.md §4): a self-contained folder that a
/// court or the other Party checks offline with the `openssl` command line alone.
///
/// It holds the exact signed CMS objects (DER) as this node holds them — an enquiry and its
/// answer, or a stream's signed deltas and signed receipts — the signed content of each
/// (what `openssl cms -verify` prints), the federation root and CRL from the node's `certs/`
/// folder, each signer's certificate (from the objects), `manifest.json` (file, SHA-256,
/// what it is) and `verify.sh`, which re-checks every SHA-256, every signature against the
/// root with the CRL (`openssl cms -verify -binary -inform DER -CAfile … -crl_check`), that
/// each object's content is the file beside it, and for a stream the hash chain and what
/// each receipt acknowledges.
public enum EvidenceExporter {
    struct Entry {
        let name: String
        let bytes: [UInt8]
        let description: String
    }

    /// Exports enquiry `id` (either side) with its answer, when one is held.
    public static func exportEnquiry(node: OpenNode, id: String, to directory: String, now: Date = Date()) throws -> EvidenceBundle {
        let store = EnquiryStore(node.store)
        let full = id.hasPrefix("urn:uuid:") ? id : "urn:uuid:" + id
        guard let record = try store.enquiry(full) ?? store.enquiry(full.lowercased()) else {
            throw NodeError(code: "evidence.unknown", reason: "no enquiry \(id) is held here")
        }
        let trust = try trustStore(node)
        var entries: [Entry] = []
        var objects: [(cms: String, content: String)] = []
        var signers: [String: Certificate] = [:]
        func add(_ signed: [UInt8], base: String, what: String, signer: String) throws {
            let verified = try CMS.verify(signed, trust: trust, expectedSigner: signer, now: now)
            entries.append(Entry(name: "\(base).cms", bytes: signed, description: "\(what): CMS SignedData (DER) signed by \(signer)"))
            entries.append(Entry(name: "\(base).json", bytes: verified.content, description: "the signed content of \(base).cms"))
            objects.append(("\(base).cms", "\(base).json"))
            signers[verified.signerCertificate.fingerprintSHA256] = verified.signerCertificate
        }
        try add(record.signed, base: "enquiry", what: "enquiry \(record.enquiryID) from \(record.requester) to \(record.responder)", signer: record.requester)
        if let answer = record.answerSigned {
            try add(answer, base: "answer", what: "answer to enquiry \(record.enquiryID) by \(record.responder) (status \(record.status))", signer: record.responder)
        }
        let bundle = try write(node: node, kind: "enquiry", subject: record.enquiryID, entries: entries, objects: objects, signers: signers,
                               chain: [], receipts: [], to: directory, now: now)
        try node.store.audit(actor: "operator", action: "evidence.export", detail: [
            "kind": "enquiry", "enquiryID": .string(record.enquiryID), "files": .number(String(bundle.files.count)),
            "manifestSHA256": .string(bundle.files.first { $0.name == "manifest.json" }?.sha256 ?? ""),
        ])
        return bundle
    }

    /// Exports stream `stream` (`<origin URN>/<agreement hash>/<flow>`): as its origin, the
    /// outbox's signed deltas and each recipient's latest signed receipt; as a receiver, the
    /// signed deltas received and this node's own latest receipt.
    public static func exportStream(node: OpenNode, stream: String, to directory: String, now: Date = Date()) throws -> EvidenceBundle {
        guard let name = StreamName(stream) else {
            throw NodeError(code: "evidence.stream", reason: "'\(stream)' is not a stream name (<origin URN>/<agreement hash>/<flow>)")
        }
        let sync = SyncStore(node.store)
        let us = node.configuration.party
        let trust = try trustStore(node)
        var deltas: [(sequence: Int64, hash: String, signed: [UInt8])] = []
        var receipts: [(receiver: String, signed: [UInt8])] = []
        if name.origin == us {
            guard try sync.outboundStreams().contains(where: { $0.stream == stream }) else {
                throw NodeError(code: "evidence.stream", reason: "this node has no stream \(stream)")
            }
            var after: Int64 = 0
            while true {
                let page = try sync.outbox(stream: stream, after: after, limit: 1000)
                guard let last = page.last else { break }
                deltas += page.map { ($0.sequence, $0.deltaHash, $0.signed) }
                after = last.sequence
            }
            for progress in try sync.progress() where progress.stream == stream {
                if let receipt = progress.receipt { receipts.append((progress.recipient, receipt)) }
            }
        } else {
            guard let position = try sync.position(stream) else { throw NodeError(code: "evidence.stream", reason: "this node has received nothing on \(stream)") }
            var after: Int64 = 0
            while true {
                let page = try sync.receivedDeltas(stream: stream, after: after, limit: 1000)
                guard let last = page.last else { break }
                deltas += page.map { ($0.sequence, $0.deltaHash, $0.signed) }
                after = last.sequence
            }
            if let receipt = position.receipt { receipts.append((us.urn, receipt)) }
        }
        guard !deltas.isEmpty else { throw NodeError(code: "evidence.stream", reason: "stream \(stream) has no delta here yet") }
        var entries: [Entry] = []
        var objects: [(cms: String, content: String)] = []
        var signers: [String: Certificate] = [:]
        var chain: [(file: String, previous: String)] = []
        for delta in deltas {
            let base = String(format: "delta-%06lld", delta.sequence)
            let verified = try CMS.verify(delta.signed, trust: trust, expectedSigner: name.origin.urn, now: now)
            let parsed = try DeltaContent.parse(verified.content)
            entries.append(Entry(name: "\(base).cms", bytes: delta.signed,
                                 description: "delta \(delta.sequence) of the stream (\(parsed.header.eventCount) events, SHA-256 = its delta hash): CMS SignedData (DER) signed by \(name.origin.urn)"))
            entries.append(Entry(name: "\(base).json", bytes: verified.content, description: "the signed content of \(base).cms: header and redacted events"))
            objects.append(("\(base).cms", "\(base).json"))
            chain.append(("\(base).cms", parsed.header.previousDeltaHash))
            signers[verified.signerCertificate.fingerprintSHA256] = verified.signerCertificate
        }
        var receiptChecks: [(file: String, deltaFile: String)] = []
        for (receiver, signed) in receipts {
            let base = "receipt-" + ((try? PartyID(urn: receiver))?.code ?? "receiver")
            let receipt = try Receipt.verify(signed, trust: trust, expectedReceiver: receiver, now: now)
            let verified = try CMS.verify(signed, trust: trust, expectedSigner: receiver, now: now)
            entries.append(Entry(name: "\(base).cms", bytes: signed,
                                 description: "signed receipt by \(receiver): applied the stream up to delta \(receipt.sequence) (hash \(receipt.deltaHash)): CMS SignedData (DER)"))
            entries.append(Entry(name: "\(base).json", bytes: verified.content, description: "the signed content of \(base).cms"))
            objects.append(("\(base).cms", "\(base).json"))
            signers[verified.signerCertificate.fingerprintSHA256] = verified.signerCertificate
            if deltas.contains(where: { $0.sequence == receipt.sequence }) {
                receiptChecks.append(("\(base).json", String(format: "delta-%06lld.cms", receipt.sequence)))
            }
        }
        let bundle = try write(node: node, kind: "stream", subject: stream, entries: entries, objects: objects, signers: signers,
                               chain: chain, receipts: receiptChecks, to: directory, now: now)
        try node.store.audit(actor: "operator", action: "evidence.export", detail: [
            "kind": "stream", "stream": .string(stream), "deltas": .number(String(deltas.count)), "receipts": .number(String(receipts.count)),
            "manifestSHA256": .string(bundle.files.first { $0.name == "manifest.json" }?.sha256 ?? ""),
        ])
        return bundle
    }

    static func trustStore(_ node: OpenNode) throws -> TrustStore {
        let certs = node.directory.certificatesPath
        guard FileManager.default.fileExists(atPath: certs + "/root.pem") else {
            throw NodeError(code: "evidence.certificates", reason: "\(node.directory.path) has no certificate folder (certs/root.pem)")
        }
        let crl = certs + "/crl.pem"
        return try TrustStore(rootFile: certs + "/root.pem", crlFile: FileManager.default.fileExists(atPath: crl) ? crl : nil)
    }

    /// Writes the entries, the root, CRL and signer certificates, `manifest.json` and `verify.sh`
    /// into `directory` (new or empty).
    static func write(node: OpenNode, kind: String, subject: String, entries: [Entry], objects: [(cms: String, content: String)],
                      signers: [String: Certificate], chain: [(file: String, previous: String)], receipts: [(file: String, deltaFile: String)],
                      to directory: String, now: Date) throws -> EvidenceBundle {
        let manager = FileManager.default
        var isDirectory: ObjCBool = false
        if manager.fileExists(atPath: directory, isDirectory: &isDirectory) {
            guard isDirectory.boolValue, ((try? manager.contentsOfDirectory(atPath: directory)) ?? []).isEmpty else {
                throw NodeError(code: "evidence.out", reason: "\(directory) exists and is not an empty directory")
            }
        } else {
            do { try manager.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700]) } catch {
                throw NodeError(code: "evidence.out", reason: "cannot create \(directory)")
            }
        }
        let certs = node.directory.certificatesPath
        var all = entries
        guard let root = manager.contents(atPath: certs + "/root.pem") else {
            throw NodeError(code: "evidence.certificates", reason: "cannot read \(certs)/root.pem")
        }
        all.append(Entry(name: "root.pem", bytes: Array(root), description: "the federation root certificate every signature chains to"))
        let crl = manager.contents(atPath: certs + "/crl.pem")
        if let crl {
            all.append(Entry(name: "crl.pem", bytes: Array(crl), description: "the federation root's certificate revocation list, as held by \(node.configuration.party.urn)"))
        }
        for (index, certificate) in signers.values.sorted(by: { ($0.partyURN ?? "", $0.serialNumber) < ($1.partyURN ?? "", $1.serialNumber) }).enumerated() {
            let code = (certificate.partyURN.flatMap { try? PartyID(urn: $0) }?.code ?? "signer").lowercased()
            all.append(Entry(name: "signer-\(code)-\(index + 1).pem", bytes: Array(certificate.pemString.utf8),
                             description: "signing certificate of \(certificate.partyURN ?? certificate.subject), serial \(certificate.serialNumber) (also inside the objects)"))
        }
        var files: [EvidenceFile] = []
        for entry in all {
            try writeAtomically(entry.bytes, to: directory + "/" + entry.name, mode: 0o644)
            files.append(EvidenceFile(name: entry.name, sha256: SHA256.hexHash(entry.bytes), description: entry.description))
        }
        let manifest: JSONValue = .object([
            "bundle": .string(kind), "subject": .string(subject), "exportedBy": .string(node.configuration.party.urn),
            "exported": .string(Timestamp(epochMilliseconds: Int64(now.timeIntervalSince1970 * 1000)).canonicalUTC),
            "verify": "sh verify.sh (needs the openssl command line only)",
            "files": .array(files.map { .object(["file": .string($0.name), "sha256": .string($0.sha256), "description": .string($0.description)]) }),
        ])
        let manifestBytes = Array((AgreementService.pretty(manifest) + "\n").utf8)
        try writeAtomically(manifestBytes, to: directory + "/manifest.json", mode: 0o644)
        files.append(EvidenceFile(name: "manifest.json", sha256: SHA256.hexHash(manifestBytes), description: "this bundle's manifest"))
        let script = verifyScript(files: files, objects: objects, hasCRL: crl != nil, chain: chain, receipts: receipts, kind: kind, subject: subject)
        try writeAtomically(Array(script.utf8), to: directory + "/verify.sh", mode: 0o755)
        return EvidenceBundle(directory: directory, kind: kind, subject: subject, files: files)
    }

    /// A POSIX shell script that checks the bundle with `openssl` alone (and cmp, grep, sed).
    static func verifyScript(files: [EvidenceFile], objects: [(cms: String, content: String)], hasCRL: Bool,
                             chain: [(file: String, previous: String)], receipts: [(file: String, deltaFile: String)], kind: String, subject: String) -> String {
        var lines = [
            "#!/bin/sh",
            "# Checks this evidence bundle offline with the openssl command line (3.0 or later) only:",
            "# the SHA-256 of every file against the list below (also in manifest.json), every CMS",
            "# signature against root.pem" + (hasCRL ? " with crl.pem (revocation)" : " (no CRL was held by the exporting node)") + ",",
            "# that each object's signed content is the .json file beside it" + (kind == "stream" ? ", the deltas' hash chain and what each receipt acknowledges." : "."),
            "# Certificates are checked at the current time; to check an object after its signer's",
            "# certificate expired, add -attime <its signing time as epoch seconds> to the verify lines.",
            "# Bundle: \(kind) \(subject)",
            "# Exit status 0 when everything holds; otherwise the first failure is printed.",
            "set -u",
            "cd \"$(dirname \"$0\")\" || exit 2",
            "command -v openssl >/dev/null 2>&1 || { echo 'verify.sh: the openssl command is needed' >&2; exit 2; }",
            "tmp=$(mktemp -d) || exit 2",
            "trap 'rm -rf \"$tmp\"' EXIT",
            "fail() { echo \"FAIL: $*\" >&2; exit 1; }",
            "sha() { openssl dgst -sha256 -r \"$1\" 2>/dev/null | cut -d' ' -f1 | tr -d '*'; }",
            "check_sha() { [ -f \"$1\" ] || fail \"$1 is missing\"; got=$(sha \"$1\"); [ \"$got\" = \"$2\" ] || fail \"$1: SHA-256 is $got, expected $2\"; echo \"ok   sha256  $1\"; }",
        ]
        for file in files where file.name != "verify.sh" {
            lines.append("check_sha '\(file.name)' \(file.sha256)")
        }
        lines.append(hasCRL ? "cat root.pem crl.pem > \"$tmp/trust.pem\" || fail 'cannot read root.pem and crl.pem'" : "cp root.pem \"$tmp/trust.pem\" || fail 'cannot read root.pem'")
        lines.append("check_cms() {")
        lines.append("    openssl cms -verify -binary -inform DER -in \"$1\" -CAfile \"$tmp/trust.pem\" -no-CApath -no-CAstore\(hasCRL ? " -crl_check" : "") -purpose smimesign -out \"$tmp/content\" 2>\"$tmp/err\" \\")
        lines.append("        || fail \"$1: the signature does not verify: $(tr '\\n' ' ' < \"$tmp/err\")\"")
        lines.append("    cmp -s \"$tmp/content\" \"$2\" || fail \"$1: its signed content differs from $2\"")
        lines.append("    echo \"ok   signed  $1 (content = $2)\"")
        lines.append("}")
        for object in objects { lines.append("check_cms '\(object.cms)' '\(object.content)'") }
        if !chain.isEmpty {
            lines.append("# The hash chain: each delta names the SHA-256 of the previous signed delta (64 zeros for the first of the stream).")
            lines.append("first_field() { grep -o \"\\\"$1\\\":\\\"[0-9a-f]*\\\"\" \"$2\" | head -n 1 | sed 's/.*:\"\\([0-9a-f]*\\)\"/\\1/'; }")
            var previousFile: String?
            for (file, _) in chain {
                let json = file.replacingOccurrences(of: ".cms", with: ".json")
                if let previousFile {
                    lines.append("[ \"$(first_field previousDeltaHash '\(json)')\" = \"$(sha '\(previousFile)')\" ] || fail '\(file): previousDeltaHash is not the SHA-256 of \(previousFile)'")
                    lines.append("echo 'ok   chain   \(file) follows \(previousFile)'")
                }
                previousFile = file
            }
            for (file, deltaFile) in receipts {
                lines.append("[ \"$(first_field deltaHash '\(file)')\" = \"$(sha '\(deltaFile)')\" ] || fail '\(file): deltaHash is not the SHA-256 of \(deltaFile)'")
                lines.append("echo 'ok   receipt \(file) acknowledges \(deltaFile)'")
            }
        }
        lines.append("echo 'bundle verified'")
        return lines.joined(separator: "\n") + "\n"
    }
}
