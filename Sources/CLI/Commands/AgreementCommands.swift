import Foundation
import Model
import Node
import Policy
import Store

/// `fedtrace agreement draft|lint|sign|import|list|show|explain|decisions|terminate|import-termination|dry-run` (DESIGN §6, §13).
enum AgreementCommands {
    static let all: [Command] = [draft, lint, sign, importCommand, list, show, explain, decisions, terminate, importTermination, dryRun]

    static func readFile(_ path: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw UsageError(reason: "cannot read \(path)")
        }
        return Array(data)
    }

    static func write(_ bytes: [UInt8], to path: String) throws {
        guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else {
            throw UsageError(reason: "cannot write \(path)")
        }
    }

    static let draft = Command(
        "agreement draft", summary: "write a template agreement between this node's Party and others (passes lint; edit before signing)",
        usage: "--data DIR --with XX [--with YY]... [--id ID] [--out FILE]",
        options: [dataOption, OptionSpec("with", value: "XX", repeatable: true, help: "another Party"),
                  OptionSpec("id", value: "ID", help: "the agreement's id (default: parties and year)"),
                  OptionSpec("out", value: "FILE", help: "write to FILE instead of standard output"), jsonOption]
    ) { arguments, output in
        let others = try arguments.all("with").map { try ParsedArguments.party($0, option: "with") }
        guard !others.isEmpty else { throw UsageError(reason: "name at least one other Party with --with") }
        let node = try openNode(arguments)
        let bytes = try AgreementService.draft(party: node.configuration.party, with: others, id: arguments.value("id"))
        if let out = arguments.value("out") {
            try write(bytes, to: out)
            if arguments.flag("json") {
                output.json(.object(["out": .string(out), "hash": .string(try Agreement.parse(bytes).hash)]))
            } else {
                output.line("wrote \(out)")
            }
        } else {
            output.line(String(decoding: bytes.dropLast(), as: UTF8.self))
        }
        return 0
    }

    static let lint = Command(
        "agreement lint", summary: "check an agreement for unknown terms and mistakes (window against now); exit 1 on errors",
        usage: "FILE [--json]", options: [jsonOption]
    ) { arguments, output in
        guard arguments.positionals.count == 1 else { throw UsageError(reason: "name exactly one agreement file") }
        let now = Timestamp(epochMilliseconds: Int64((Date().timeIntervalSince1970 * 1000).rounded(.down)))
        let findings = Lint.check(try readFile(arguments.positionals[0]), at: now)
        let errors = findings.filter { $0.severity == .error }.count
        if arguments.flag("json") {
            output.json(.object(["errors": .number(String(errors)), "warnings": .number(String(findings.count - errors)),
                                 "findings": .array(findings.map { .object(["severity": .string($0.severity.rawValue), "code": .string($0.code),
                                                                           "path": .string($0.path), "message": .string($0.message)]) })]))
        } else {
            for finding in findings {
                output.line("\(finding.severity.rawValue): \(finding.code)\(finding.path.isEmpty ? "" : " at \(finding.path)"): \(finding.message)")
            }
            output.line("\(errors) error\(errors == 1 ? "" : "s"), \(findings.count - errors) warning\(findings.count - errors == 1 ? "" : "s")")
        }
        return errors > 0 ? 1 : 0
    }

    static let sign = Command(
        "agreement sign", summary: "sign an agreement's canonical bytes with this node's signing key (detached CMS, DER)",
        usage: "FILE --data DIR [--out SIG]",
        options: [dataOption, OptionSpec("out", value: "SIG", help: "signature file (default FILE.<XX>.sig)"), jsonOption]
    ) { arguments, output in
        guard arguments.positionals.count == 1 else { throw UsageError(reason: "name exactly one agreement file") }
        let file = arguments.positionals[0]
        let node = try openNode(arguments)
        let (agreement, signature) = try AgreementService(node: node).sign(try readFile(file))
        let out = arguments.value("out") ?? "\(file).\(node.configuration.party.code).sig"
        try write(signature, to: out)
        if arguments.flag("json") {
            output.json(.object(["hash": .string(agreement.hash), "party": .string(node.configuration.party.urn), "signature": .string(out)]))
            return 0
        }
        output.line("signed agreement \(agreement.id) v\(agreement.version) \(agreement.hash) as \(node.configuration.party.urn): \(out)")
        return 0
    }

    static let importCommand = Command(
        "agreement import", summary: "verify an agreement's signatures against the federation root and store it with them",
        usage: "FILE [--sig SIG]... --data DIR [--json]",
        options: [dataOption, OptionSpec("sig", value: "SIG", repeatable: true, help: "a detached signature file (DER)"), jsonOption]
    ) { arguments, output in
        guard arguments.positionals.count == 1 else { throw UsageError(reason: "name exactly one agreement file") }
        let bytes = try readFile(arguments.positionals[0])
        let signatures = try arguments.all("sig").map(readFile)
        let node = try openNode(arguments)
        let service = AgreementService(node: node)
        let (agreement, result) = try service.importAgreement(bytes, signatures: signatures)
        let status = try service.status(named: agreement.hash)
        let warnings = try service.overlaps(with: agreement)
        if arguments.flag("json") {
            output.json(.object(["hash": .string(agreement.hash), "new": .bool(result.newAgreement),
                                 "warnings": .array(warnings.map { .string($0.message) }),
                                 "addedSignatures": .array(result.addedSignatures.map(JSONValue.string)), "status": .string(status.text)]))
        } else {
            output.line("\(result.newAgreement ? "imported" : "already held") agreement \(agreement.id) v\(agreement.version) \(agreement.hash); "
                        + "\(result.addedSignatures.count) new signature\(result.addedSignatures.count == 1 ? "" : "s"); status: \(status.text)")
            for warning in warnings { output.line("warning: \(warning.code): \(warning.message)") }
        }
        return 0
    }

    static func json(_ status: AgreementStatus) -> JSONValue {
        .object([
            "hash": .string(status.stored.hash), "id": .string(status.stored.id), "version": .number(String(status.stored.version)),
            "supersedes": status.stored.supersedes.map(JSONValue.string) ?? .null,
            "parties": .array(status.agreement.partyIDs.map { .string($0.urn) }),
            "signedBy": .array(status.signedBy.sorted().map { .string($0.urn) }),
            "missing": .array(status.missing.map { .string($0.urn) }),
            "invalidSignatures": .object(JSONObject(status.invalidSignatures.sorted { $0.key < $1.key }.map { JSONObject.Member(key: $0.key, value: .string($0.value)) })),
            "state": .string(status.state.rawValue), "status": .string(status.text),
            "supersededBy": status.supersededBy.map(JSONValue.string) ?? .null,
            "terminationEffective": status.terminationEffective.map(JSONValue.string) ?? .null,
            "notBefore": .string(status.agreement.validity.notBefore.canonicalUTC),
            "notAfter": .string(status.agreement.validity.notAfter.canonicalUTC),
            "terminations": .array(status.terminations.map { .object(["party": .string($0.party), "effective": .string($0.effective), "reason": .string($0.reason)]) }),
        ])
    }

    static let list = Command(
        "agreement list", summary: "stored agreements with their status (active, pending-signatures, superseded, …)",
        usage: "--data DIR [--json]", options: [dataOption, jsonOption]
    ) { arguments, output in
        let statuses = try AgreementService(node: try openNode(arguments)).statuses()
        if arguments.flag("json") {
            output.json(.array(statuses.map(json)))
        } else {
            for status in statuses {
                output.line("\(status.stored.hash)  \(status.stored.id) v\(status.stored.version)  \(status.agreement.partyIDs.map(\.code).joined(separator: ","))  \(status.text)")
            }
            output.line("\(statuses.count) agreement\(statuses.count == 1 ? "" : "s")")
        }
        return 0
    }

    static let show = Command(
        "agreement show", summary: "one stored agreement (by hash or id): status, signatures, flows",
        usage: "--data DIR HASH|ID [--json]", options: [dataOption, jsonOption]
    ) { arguments, output in
        guard arguments.positionals.count == 1 else { throw UsageError(reason: "name one agreement by hash or id") }
        let status = try AgreementService(node: try openNode(arguments)).status(named: arguments.positionals[0])
        if arguments.flag("json") {
            output.json(json(status))
            return 0
        }
        let a = status.agreement
        output.line("agreement \(a.id) v\(a.version)  \(status.stored.hash)")
        output.line("status: \(status.text)")
        if let supersedes = a.supersedes { output.line("supersedes: \(supersedes)") }
        output.line("validity: \(a.validity.notBefore.canonicalUTC) … \(a.validity.notAfter.canonicalUTC)")
        for p in a.parties {
            let signed = status.signedBy.contains(p.party) ? "signed" : status.invalidSignatures[p.party.urn].map { "signature no longer verifies: \($0)" } ?? "not signed"
            output.line("party \(p.party.urn) (\(p.competentAuthority)): \(signed)")
        }
        for flow in a.flows {
            output.line("flow \(flow.id): \(flow.action.rawValue) \(flow.from.map(\.code).joined(separator: ",")) → \(flow.to.map(\.code).joined(separator: ",")), fields \(flow.fields.map(\.rawValue).joined(separator: ","))")
        }
        for t in status.terminations { output.line("termination by \(t.party) effective \(t.effective): \(t.reason)") }
        return 0
    }

    static let explain = Command(
        "agreement explain", summary: "would this stored event go to this Party, under which flow, and which fields would it see?",
        usage: "--data DIR --event HASHID --to XX [--agreement HASH] [--as-recipient] [--json]",
        options: [dataOption, OptionSpec("event", value: "HASHID", help: "the stored event's hash ID"),
                  OptionSpec("to", value: "XX", help: "the recipient Party"),
                  OptionSpec("agreement", value: "HASH", help: "use this agreement (default: the active ones with that Party)"),
                  OptionSpec("as-recipient", help: "print exactly the redacted event the recipient would receive"), jsonOption]
    ) { arguments, output in
        let recipient = try ParsedArguments.party(try arguments.required("to"), option: "to")
        let service = AgreementService(node: try openNode(arguments))
        let explanation = try service.explain(eventHashID: try arguments.required("event"), recipient: recipient, agreementName: arguments.value("agreement"))
        let decision = explanation.decision
        if arguments.flag("as-recipient") {
            guard let redacted = decision.redactedEvent else {
                output.error("fedtrace agreement explain: \(decision.reason)")
                return 1
            }
            output.line(JSONWriter.string(.object(redacted)))
            return 0
        }
        if arguments.flag("json") {
            output.json(.object([
                "agreement": .string(explanation.agreement.hash), "permitted": .bool(decision.permitted),
                "flow": decision.flowID.map(JSONValue.string) ?? .null, "reason": .string(decision.reason),
                "conditions": .array(decision.conditions.map { c in
                    .object(["flow": c.flowID.map(JSONValue.string) ?? .null, "name": .string(c.name), "path": .string(c.path),
                             "actual": .string(c.actual), "expected": .string(c.expected), "passed": .bool(c.passed)])
                }),
                "removed": .array(decision.removedFields.map { .object(["path": .string($0.path), "rule": .string($0.rule)]) }),
                "redactedEvent": decision.redactedEvent.map(JSONValue.object) ?? .null,
            ]))
            return 0
        }
        output.line("agreement \(explanation.agreement.id) v\(explanation.agreement.version) \(explanation.agreement.hash)")
        output.line("\(explanation.origin.code) → \(recipient.code): \(decision.permitted ? "SHARED" : "NOT SHARED")\(decision.flowID.map { " by flow \($0)" } ?? "")")
        output.line("reason: \(decision.reason)")
        output.line("conditions:")
        for c in decision.conditions {
            output.line("  [\(c.passed ? "pass" : "FAIL")] \(c.flowID.map { "\($0): " } ?? "")\(c.name)\(c.path.isEmpty ? "" : " (\(c.path))"): actual \(c.actual), expected \(c.expected)")
        }
        if decision.permitted {
            output.line("removed fields:")
            for r in decision.removedFields { output.line("  \(r.path): \(r.rule)") }
            if decision.removedFields.isEmpty { output.line("  (none)") }
        }
        return 0
    }

    static let decisions = Command(
        "agreement decisions", summary: "recorded outbound (permit/deny) and inbound (accept/reject) policy decisions, newest first",
        usage: "--data DIR [--agreement H] [--party XX] [--direction outbound|inbound] [--outcome O] [--since TIME] [--limit N] [--json]",
        options: [dataOption, OptionSpec("agreement", value: "H", help: "an agreement hash (or a prefix of one)"),
                  OptionSpec("party", value: "XX", help: "the counterpart Party (recipient or sender)"),
                  OptionSpec("direction", value: "D", help: "outbound or inbound"),
                  OptionSpec("outcome", value: "O", help: "permit, deny, accept or reject"),
                  OptionSpec("since", value: "TIME", help: "decisions at or after this date or instant"),
                  OptionSpec("limit", value: "N", help: "at most N decisions (default 100)"), jsonOption]
    ) { arguments, output in
        var query = DecisionQuery()
        query.agreement = arguments.value("agreement")
        query.counterpart = try arguments.party("party")?.urn
        if let text = arguments.value("direction") {
            guard let direction = DecisionRecord.Direction(rawValue: text) else { throw UsageError(reason: "--direction is outbound or inbound, not '\(text)'") }
            query.direction = direction
        }
        if let text = arguments.value("outcome") {
            guard let outcome = DecisionRecord.Outcome(rawValue: text) else { throw UsageError(reason: "--outcome is permit, deny, accept or reject, not '\(text)'") }
            query.outcome = outcome
        }
        query.since = try arguments.value("since").map(instant)
        if let text = arguments.value("limit") {
            guard let limit = Int(text), limit >= 1 else { throw UsageError(reason: "--limit is a whole number of at least 1, not '\(text)'") }
            query.limit = limit
        }
        let records = try AgreementService(node: try openNode(arguments)).decisions(query)
        if arguments.flag("json") {
            output.json(.array(records.map { r in
                .object(["seq": .number(String(r.seq)), "direction": .string(r.direction.rawValue), "at": .string(r.at),
                         "agreement": .string(r.agreementHash), "flow": r.flowID.map(JSONValue.string) ?? .null,
                         "counterpart": .string(r.counterpart), "event": r.eventHashID.map(JSONValue.string) ?? .null,
                         "outcome": .string(r.outcome.rawValue), "reasons": .array(r.reasonList.map(JSONValue.string))])
            }))
            return 0
        }
        for r in records {
            let party = (try? PartyID(urn: r.counterpart))?.code ?? r.counterpart
            let arrow = r.direction == .outbound ? "→ \(party)" : "← \(party)"
            output.line("\(r.at)  \(r.direction.rawValue) \(arrow)  \(r.outcome.rawValue.uppercased())  agreement \(r.agreementHash.isEmpty ? "(none)" : String(r.agreementHash.prefix(16)))"
                        + "\(r.flowID.map { " flow \($0)" } ?? "")\(r.eventHashID.map { " event \($0)" } ?? "")")
            for reason in r.reasonList { output.line("    \(reason)") }
        }
        output.line("\(records.count) decision\(records.count == 1 ? "" : "s")")
        return 0
    }

    /// An ISO 8601 instant with its zone, or a bare date (`2027-01-31` = 00:00 UTC).
    static func instant(_ text: String) throws -> Date {
        let full = text.count == 10 ? text + "T00:00:00Z" : text
        guard let time = Timestamp.parse(full) else {
            throw UsageError(reason: "'\(text)' is not a date (YYYY-MM-DD) or an instant with a zone (2027-01-31T00:00:00Z)")
        }
        return Date(timeIntervalSince1970: Double(time.seconds) + Double(time.microseconds) / 1_000_000)
    }

    static let terminate = Command(
        "agreement terminate", summary: "sign and store this Party's termination of an agreement, effective after its notice period",
        usage: "--data DIR HASH|ID [--reason TEXT] [--effective DATE] [--out FILE] [--json]",
        options: [dataOption, OptionSpec("reason", value: "TEXT", help: "why (kept in the signed record)"),
                  OptionSpec("effective", value: "DATE", help: "a later effective date than the end of the notice period"),
                  OptionSpec("out", value: "FILE", help: "the signed record for the other Parties (default <id>.<XX>.termination.cms)"), jsonOption]
    ) { arguments, output in
        guard arguments.positionals.count == 1 else { throw UsageError(reason: "name one agreement by hash or id") }
        let effective = try arguments.value("effective").map(instant)
        let service = AgreementService(node: try openNode(arguments))
        let termination = try service.terminate(name: arguments.positionals[0], reason: arguments.value("reason") ?? "", effective: effective)
        let status = try service.status(named: termination.agreementHash)
        let out = arguments.value("out") ?? "\(status.stored.id).\(service.node.configuration.party.code).termination.cms"
        try write(termination.cms, to: out)
        if arguments.flag("json") {
            output.json(.object(["hash": .string(termination.agreementHash), "party": .string(termination.party),
                                 "effective": .string(termination.effective), "reason": .string(termination.reason),
                                 "out": .string(out), "status": .string(status.text)]))
            return 0
        }
        output.line("terminated agreement \(termination.agreementHash) as \(termination.party), effective \(termination.effective); status: \(status.text); record: \(out)")
        return 0
    }

    static let importTermination = Command(
        "agreement import-termination", summary: "verify another Party's signed termination record and store it",
        usage: "FILE --data DIR [--json]", options: [dataOption, jsonOption]
    ) { arguments, output in
        guard arguments.positionals.count == 1 else { throw UsageError(reason: "name exactly one termination record file") }
        let bytes = try readFile(arguments.positionals[0])
        let service = AgreementService(node: try openNode(arguments))
        let (termination, added) = try service.importTermination(bytes)
        let status = try service.status(named: termination.agreementHash)
        if arguments.flag("json") {
            output.json(.object(["hash": .string(termination.agreementHash), "party": .string(termination.party),
                                 "effective": .string(termination.effective), "reason": .string(termination.reason),
                                 "new": .bool(added), "status": .string(status.text)]))
            return 0
        }
        output.line("\(added ? "imported" : "already held") termination of agreement \(status.stored.id) v\(status.stored.version) \(termination.agreementHash) "
                    + "by \(termination.party), effective \(termination.effective); status: \(status.text)")
        return 0
    }

    static let dryRun = Command(
        "agreement dry-run", summary: "what a draft (as if fully signed) would change per Party against the active agreements",
        usage: "--data DIR DRAFT [--json]", options: [dataOption, jsonOption]
    ) { arguments, output in
        guard arguments.positionals.count == 1 else { throw UsageError(reason: "name exactly one draft file") }
        let service = AgreementService(node: try openNode(arguments))
        let (draft, entries) = try service.dryRun(try readFile(arguments.positionals[0]))
        if arguments.flag("json") {
            output.json(.object(["draft": .string(draft.hash), "recipients": .array(entries.map { e in
                .object(["party": .string(e.recipient.urn),
                         "newlySharedEvents": .number(String(e.newlySharedEvents)), "noLongerSharedEvents": .number(String(e.noLongerSharedEvents)),
                         "newlySharedUIMs": .number(String(e.newlySharedUIMs.count)), "noLongerSharedUIMs": .number(String(e.noLongerSharedUIMs.count)),
                         "newlyExposedFields": .array(e.newlyExposedFields.sorted().map(JSONValue.string))])
            })]))
        } else {
            output.line("draft \(draft.id) v\(draft.version) \(draft.hash) against the active agreements:")
            for e in entries {
                output.line("\(e.recipient.code): +\(e.newlySharedEvents) events (+\(e.newlySharedUIMs.count) UIMs), -\(e.noLongerSharedEvents) events (-\(e.noLongerSharedUIMs.count) UIMs); newly exposed fields: \(e.newlyExposedFields.isEmpty ? "none" : e.newlyExposedFields.sorted().joined(separator: ", "))")
            }
        }
        return 0
    }
}
