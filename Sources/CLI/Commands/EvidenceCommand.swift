import Foundation
import Model
import Node

/// `fedtrace evidence export` (DESIGN §11, docs/hub.md §4).
enum EvidenceCommand {
    static let command = Command(
        "evidence export", summary: "write a bundle (signed CMS objects, certificates, CRL, manifest.json, verify.sh) that openssl alone verifies offline",
        usage: "--data DIR --out DIR (--enquiry ID | --stream S) [--json]",
        options: [dataOption, OptionSpec("out", value: "DIR", help: "a new or empty directory for the bundle"),
                  OptionSpec("enquiry", value: "ID", help: "an enquiry (sent or received) and its answer"),
                  OptionSpec("stream", value: "S", help: "a stream <origin URN>/<agreement hash>/<flow>: its signed deltas and receipts"),
                  jsonOption]
    ) { arguments, output in
        let out = try arguments.required("out")
        let enquiry = arguments.value("enquiry"), stream = arguments.value("stream")
        guard (enquiry == nil) != (stream == nil) else { throw UsageError(reason: "name exactly one of --enquiry ID and --stream S") }
        let node = try openNode(arguments)
        let bundle = try enquiry.map { try EvidenceExporter.exportEnquiry(node: node, id: $0, to: out) }
            ?? EvidenceExporter.exportStream(node: node, stream: stream!, to: out)
        if arguments.flag("json") {
            output.json(.object(["directory": .string(bundle.directory), "bundle": .string(bundle.kind), "subject": .string(bundle.subject),
                                 "files": .array(bundle.files.map { .object(["file": .string($0.name), "sha256": .string($0.sha256)]) })]))
        } else {
            output.line("wrote \(bundle.files.count + 1) files to \(bundle.directory) (\(bundle.kind) \(bundle.subject)); check with: sh \(bundle.directory)/verify.sh")
        }
        return 0
    }
}
