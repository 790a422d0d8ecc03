import Foundation
import Crypto
import Model
import Node

/// `fedtrace verify FILE`: checks any CMS object FedTrace makes (signed, sealed, or
/// signed-then-sealed) against the federation root and prints what it proves.
enum VerifyCommand {
    static let command = Command(
        "verify", summary: "check a CMS object (signed and/or sealed): signer Party, signing time, content type",
        usage: "FILE (--data DIR | --root ROOT.pem [--crl CRL.pem]) [--open] [--json]",
        options: [
            dataOption,
            OptionSpec("root", value: "ROOT.pem", help: "the federation root to verify against (instead of the node's)"),
            OptionSpec("crl", value: "CRL.pem", help: "with --root: the federation CRL"),
            OptionSpec("open", help: "open a sealed object with the node's sealing key (needs --data), then verify what is inside"),
            jsonOption,
        ]
    ) { arguments, output in
        guard arguments.positionals.count == 1 else { throw UsageError(reason: "name exactly one file to verify") }
        let path = arguments.positionals[0]
        guard let data = FileManager.default.contents(atPath: path) else {
            throw NodeError(code: "verify.unreadable", reason: "\(path): cannot read the file")
        }
        var bytes = Array(data)
        let folder: PartyCertificateFolder?
        let trust: TrustStore
        do {
            if let root = arguments.value("root") {
                guard arguments.value("data") == nil else { throw UsageError(reason: "give --data or --root, not both") }
                trust = try TrustStore(rootFile: root, crlFile: arguments.value("crl"))
                folder = nil
            } else if arguments.value("data") != nil {
                let node = try openNode(arguments)
                let certs = node.directory.certificatesPath
                guard FileManager.default.fileExists(atPath: certs) else {
                    throw NodeError(code: "verify.no-certificates", reason: "\(node.directory.path) has no certificate folder; run 'fedtrace init --certs' or pass --root")
                }
                folder = try PartyCertificateFolder.load(from: certs, expectedParty: node.configuration.party.urn)
                trust = folder!.trust
            } else {
                throw UsageError(reason: "give --data DIR (the node's federation root) or --root ROOT.pem")
            }
            if arguments.flag("open") && folder == nil { throw UsageError(reason: "--open needs --data: the node's sealing key opens the object") }

            var report: JSONObject = ["file": .string(path)]
            var lines: [String] = []
            var description = try CMSInspector.inspect(bytes, knownCertificates: folder.map { [$0.sealingCertificate] } ?? [])
            if description.kind == .enveloped || description.kind == .authEnveloped {
                report["sealed"] = .object([
                    "kind": .string(description.kind.rawValue),
                    "recipients": .array(description.recipients.map { .string($0.partyURN ?? "unknown (\($0.serialNumber ?? "?"))") }),
                ])
                lines.append("sealed (\(description.kind.rawValue)) to: " + description.recipients.map { $0.partyURN ?? "unknown party" }.joined(separator: ", "))
                guard arguments.flag("open"), let folder else {
                    if arguments.flag("json") { output.json(.object(report)) } else {
                        lines.append("use --open with the node's --data to open it and verify the signature inside")
                        lines.forEach(output.line)
                    }
                    return 0
                }
                bytes = try CMS.open(bytes, certificate: folder.sealingCertificate, key: folder.sealingKey)
                lines.append("opened with \(folder.partyURN)'s sealing key")
                description = try CMSInspector.inspect(bytes)
            }
            guard description.kind == .signed else {
                throw NodeError(code: "verify.unsupported", reason: "\(path): a \(description.kind.rawValue) CMS object (\(description.contentType)) is not one FedTrace makes")
            }
            guard !description.isDetached else {
                throw NodeError(code: "verify.detached", reason: "\(path): the signature is detached; verify it together with its content (agreements: 'fedtrace agreement show')")
            }
            let verified = try CMS.verify(bytes, trust: trust)
            let time = Timestamp(epochMilliseconds: Int64(verified.signingTime.timeIntervalSince1970 * 1000)).canonicalUTC
            report["signer"] = .string(verified.signerURN)
            report["signingTime"] = .string(time)
            report["contentType"] = .string(description.contentType)
            report["contentBytes"] = .number(String(verified.content.count))
            report["signerCertificateSHA256"] = .string(verified.signerCertificate.fingerprintSHA256)
            report["valid"] = .bool(true)
            lines += ["signature valid", "signer: \(verified.signerURN)", "signed: \(time)",
                      "content type: \(description.contentType), \(verified.content.count) bytes",
                      "signer certificate SHA-256: \(verified.signerCertificate.fingerprintSHA256)"]
            if arguments.flag("json") { output.json(.object(report)) } else { lines.forEach(output.line) }
            return 0
        } catch let error as CryptoError {
            throw NodeError(code: error.code, reason: "\(path): \(error.reason)")
        }
    }
}
