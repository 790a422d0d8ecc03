import Foundation
import Model
import Node
import Store

/// `fedtrace enquiry send|list|show|approve|reject` (DESIGN §10, docs/hub.md §3): an officer's
/// enquiries to the Party that issued a UIM, and the answers to other Parties' enquiries.
enum EnquiryCommands {
    static let all: [Command] = [send, list, show, approve, reject]

    /// Runs `body`, putting a refusal's stable code in front of its reason (scripts and
    /// officers rely on `enquiry.no-agreement`, `enquiry.not-pending`, …).
    static func coded<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let error as NodeError {
            throw NodeError(code: error.code, reason: "\(error.code): \(error.reason)")
        }
    }

    static func service(_ arguments: ParsedArguments) throws -> EnquiryService {
        try EnquiryService.shared(for: try openNode(arguments))
    }

    static func record(_ service: EnquiryService, _ arguments: ParsedArguments) throws -> EnquiryRecord {
        guard arguments.positionals.count == 1 else { throw UsageError(reason: "name exactly one enquiry ID") }
        guard let record = try service.find(arguments.positionals[0]) else {
            throw UsageError(reason: "no enquiry '\(arguments.positionals[0])' is held here (see 'fedtrace enquiry list')")
        }
        return record
    }

    /// One line per enquiry: ID, role, status, counterpart, purpose, case.
    static func line(_ record: EnquiryRecord, now: Date) -> String {
        let counterpart = record.role == .requester ? "to \(record.responder)" : "from \(record.requester)"
        var text = "\(record.enquiryID)  \(record.role.rawValue)  \(record.status(at: now))  \(counterpart)  \(record.purpose)  case \(record.caseReference)  \(record.uims.count) UIM\(record.uims.count == 1 ? "" : "s")"
        if let events = record.answerEvents, record.status == "answered" { text += "  \(events) event\(events == 1 ? "" : "s")" }
        return text
    }

    static let send = Command(
        "enquiry send", summary: "ask the Party that issued a UIM for its trace (signed, sealed, delivered directly; the node retries until delivered)",
        usage: "--data DIR --uim U [--uim U]... --purpose P --case REF [--to XX] [--json]",
        options: [dataOption, OptionSpec("uim", value: "U", repeatable: true, help: "a UIM (GS1 Digital Link URI or EPC URN)"),
                  OptionSpec("purpose", value: "P", help: "illicit-trade-detection, investigation, prosecution or risk-analysis"),
                  OptionSpec("case", value: "REF", help: "the officer's case reference"),
                  OptionSpec("to", value: "XX", help: "the responder's Party (code or URN); without it, the UIMs' owner from the directory"),
                  jsonOption]
    ) { arguments, output in
        let uims = arguments.all("uim")
        guard !uims.isEmpty else { throw UsageError(reason: "name at least one UIM with --uim") }
        let purpose = try arguments.required("purpose")
        let reference = try arguments.required("case")
        let to = try arguments.party("to")
        let service = try service(arguments)
        let record = try coded { try service.send(uims: uims, purpose: purpose, caseReference: reference, to: to) }
        let now = Date()
        if arguments.flag("json") {
            output.json(try service.json(record, events: false, now: now))
        } else {
            var text = "enquiry \(record.enquiryID) to \(record.responder): \(record.status(at: now))"
            if let error = record.lastError, record.status == "sent" { text += " (not delivered yet: \(error); the running node retries)" }
            if record.status == "refused" { text += ": \(record.code ?? "refused"): \(record.reason ?? "")" }
            output.line(text)
        }
        if record.status == "refused" {
            if !arguments.flag("json") { output.error("fedtrace enquiry send: \(record.responder) refused the enquiry: \(record.code ?? "refused"): \(record.reason ?? "")") }
            return 1
        }
        return 0
    }

    static let list = Command(
        "enquiry list", summary: "list enquiries sent and received, newest first, with their status (sent, delivered, answered, refused, overdue, pending)",
        usage: "--data DIR [--role requester|responder] [--status S] [--json]",
        options: [dataOption, OptionSpec("role", value: "ROLE", help: "requester (sent from here) or responder (received here)"),
                  OptionSpec("status", value: "S", help: "only this status"), jsonOption]
    ) { arguments, output in
        var role: EnquiryRecord.Role?
        if let text = arguments.value("role") {
            guard let r = EnquiryRecord.Role(rawValue: text) else { throw UsageError(reason: "--role must be requester or responder") }
            role = r
        }
        let status = arguments.value("status")
        let node = try openNode(arguments)
        let now = Date()
        let records = try EnquiryStore(node.store).enquiries(role: role).filter { status == nil || $0.status(at: now) == status }
        if arguments.flag("json") {
            let service = try EnquiryService.shared(for: node)
            output.json(.array(try records.map { try service.json($0, events: false, now: now) }))
            return 0
        }
        if records.isEmpty { output.line("no enquiries") }
        for record in records { output.line(line(record, now: now)) }
        return 0
    }

    static let show = Command(
        "enquiry show", summary: "show one enquiry: its status, deadline, answer and the trace the answer carried",
        usage: "--data DIR ID [--json]", options: [dataOption, jsonOption]
    ) { arguments, output in
        let service = try service(arguments)
        let record = try record(service, arguments)
        let now = Date()
        if arguments.flag("json") {
            output.json(try service.json(record, events: true, now: now))
            return 0
        }
        var rows: [(String, String)] = [
            ("enquiry", record.enquiryID), ("role", record.role.rawValue), ("status", record.status(at: now)),
            ("requester", record.requester), ("responder", record.responder), ("agreement", record.agreementHash),
            ("purpose", record.purpose), ("case", record.caseReference), (record.role == .requester ? "sent" : "received", record.created),
        ]
        for uim in record.uims { rows.append(("uim", uim)) }
        if let answerBy = record.answerBy { rows.append(("answer by", answerBy)) }
        if let decision = record.decision { rows.append(("decision", decision + (record.flow.map { " (flow \($0))" } ?? ""))) }
        if let delivered = record.deliveredAt { rows.append(("delivered", delivered)) }
        if let answered = record.answeredAt { rows.append(("answered", answered)) }
        if let delivered = record.answerDeliveredAt { rows.append(("answer delivered", delivered)) }
        if let code = record.code { rows.append(("code", code)) }
        if let reason = record.reason { rows.append(("reason", reason)) }
        if let error = record.lastError { rows.append(("last error", error)) }
        rows.append(("enquiry sha256", record.digest))
        if let digest = record.answerDigest { rows.append(("answer sha256", digest)) }
        for (name, value) in rows { output.line(name.padding(toLength: 17, withPad: " ", startingAt: 0) + value) }
        if record.role == .requester, record.status == "answered" {
            let events = try service.store.answerEvents(record.enquiryID)
            output.line("trace: \(events.count) event\(events.count == 1 ? "" : "s") from \(record.responder) (kept with the enquiry until \(events.map(\.retentionDeadline).max().map { Timestamp(epochMilliseconds: $0).canonicalUTC } ?? "-"))")
            for event in events {
                let object = (try? JSONParser.parse(event.event, limits: EPCISDocumentParser.limits))?.objectValue ?? [:]
                let time = object["eventTime"]?.stringValue ?? "?"
                let type = object["type"]?.stringValue ?? "?"
                let step = object["bizStep"]?.stringValue.map { String($0.split(separator: "/").last ?? Substring($0)) } ?? "-"
                output.line("  \(time)  \(type)  \(step)  \(event.hashID)\(event.declaresError ? "  (error declaration)" : "")")
                output.line("    " + String(decoding: event.event, as: UTF8.self))
            }
        }
        return 0
    }

    static let approve = Command(
        "enquiry approve", summary: "approve an enquiry waiting for an officer: the trace is answered, redacted to the agreement",
        usage: "--data DIR ID [--json]", options: [dataOption, jsonOption]
    ) { arguments, output in
        let service = try service(arguments)
        let record = try record(service, arguments)
        let answered = try coded { try service.approve(record.enquiryID, officer: "cli:\(service.node.configuration.party.urn)") }
        if arguments.flag("json") {
            output.json(try service.json(answered, events: false))
        } else {
            output.line("enquiry \(answered.enquiryID) approved: answered with \(answered.answerEvents ?? 0) event\(answered.answerEvents == 1 ? "" : "s")"
                        + (answered.answerDeliveredAt != nil ? ", delivered to \(answered.requester)" : ", queued for \(answered.requester) (the running node delivers it)"))
        }
        return 0
    }

    static let reject = Command(
        "enquiry reject", summary: "reject an enquiry waiting for an officer: a signed refusal with the reason goes to the requester",
        usage: "--data DIR ID --reason R [--json]",
        options: [dataOption, OptionSpec("reason", value: "R", help: "why (sent to the requester)"), jsonOption]
    ) { arguments, output in
        let reason = try arguments.required("reason")
        let service = try service(arguments)
        let record = try record(service, arguments)
        let refused = try coded { try service.reject(record.enquiryID, reason: reason, officer: "cli:\(service.node.configuration.party.urn)") }
        if arguments.flag("json") {
            output.json(try service.json(refused, events: false))
        } else {
            output.line("enquiry \(refused.enquiryID) rejected" + (refused.answerDeliveredAt != nil ? "; refusal delivered to \(refused.requester)" : "; refusal queued for \(refused.requester) (the running node delivers it)"))
        }
        return 0
    }
}
