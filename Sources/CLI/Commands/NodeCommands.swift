import Foundation
import Model
import Node
import Store

enum InitCommand {
    static let command = Command(
        "init", summary: "create a node: its data directory, configuration, store and first audit record",
        usage: "--party XX --data DIR [--role party|hub] [--certs CERTDIR [--root ROOT.pem]] [--api-listen HOST:PORT] [--fed-listen HOST:PORT]",
        options: [
            OptionSpec("party", value: "XX", help: "ISO 3166-1 alpha-2 code of the Party (or the hub's name with --role hub)"),
            dataOption,
            OptionSpec("role", value: "ROLE", help: "party (default) or hub"),
            OptionSpec("certs", value: "CERTDIR", help: "install this certificate folder (root.pem, crl.pem, transport/signing/sealing .pem/.key) after checking it"),
            OptionSpec("root", value: "ROOT.pem", help: "with --certs: the federation root obtained out of band; the folder's root.pem must be it"),
            OptionSpec("api-listen", value: "HOST:PORT", help: "local API listener (default \(NodeConfiguration.defaultAPIListen))"),
            OptionSpec("fed-listen", value: "HOST:PORT", help: "federation listener (default \(NodeConfiguration.defaultFederationListen))"),
            jsonOption,
        ]
    ) { arguments, output in
        let roleText = arguments.value("role") ?? "party"
        guard let role = NodeRole(rawValue: roleText) else { throw UsageError(reason: "--role must be party or hub, got '\(roleText)'") }
        let name = try arguments.required("party")
        let party: PartyID
        do throws(ModelError) {
            party = role == .hub ? try PartyID(hub: name) : try PartyID(country: name)
        } catch {
            throw UsageError(reason: error.reason)
        }
        var configuration = NodeConfiguration(party: party, role: role)
        if let api = arguments.value("api-listen") {
            guard ListenAddress(api) != nil else { throw UsageError(reason: "--api-listen must be HOST:PORT, got '\(api)'") }
            configuration.apiListen = api
        }
        if let fed = arguments.value("fed-listen") {
            guard ListenAddress(fed) != nil else { throw UsageError(reason: "--fed-listen must be HOST:PORT, got '\(fed)'") }
            configuration.federationListen = fed
        }
        let data = try arguments.required("data")
        if arguments.value("root") != nil && arguments.value("certs") == nil { throw UsageError(reason: "--root is only meaningful with --certs") }
        let node = try NodeDirectory.initialize(at: data, configuration: configuration, certificates: arguments.value("certs"),
                                                federationRoot: arguments.value("root"))
        if arguments.flag("json") {
            output.json(.object(["party": .string(party.urn), "role": .string(role.rawValue), "data": .string(node.directory.path)]))
        } else {
            output.line("initialised \(role.rawValue) node \(party.urn) in \(node.directory.path)")
            if arguments.value("certs") != nil { output.line("certificates checked and installed in \(node.directory.certificatesPath)") }
            output.line("next: fedtrace capture --data \(data) FILE...")
        }
        return 0
    }
}

enum CaptureCommand {
    static let command = Command(
        "capture", summary: "capture EPCIS 2.0 JSON/JSON-LD documents; each document is stored whole or not at all",
        usage: "--data DIR FILE... [--json]",
        options: [dataOption, jsonOption]
    ) { arguments, output in
        guard !arguments.positionals.isEmpty else { throw UsageError(reason: "name at least one EPCIS document to capture") }
        let node = try openNode(arguments)
        let outcomes = CaptureService(node: node).capture(files: arguments.positionals)
        let captured = outcomes.reduce(0) { $0 + ($1.result?.captured ?? 0) }
        let duplicates = outcomes.reduce(0) { $0 + ($1.result?.duplicates ?? 0) }
        let rejected = outcomes.filter { $0.rejection != nil }
        if arguments.flag("json") {
            output.json(.object([
                "captured": .number(String(captured)), "duplicates": .number(String(duplicates)),
                "rejectedDocuments": .number(String(rejected.count)),
                "documents": .array(outcomes.map { outcome in
                    var object: JSONObject = ["source": .string(outcome.source)]
                    if let result = outcome.result {
                        object["captured"] = .number(String(result.captured))
                        object["duplicates"] = .number(String(result.duplicates))
                        object["eventHashIDs"] = .array(result.eventHashIDs.map(JSONValue.string))
                    } else {
                        object["rejected"] = .string(outcome.rejection ?? "")
                    }
                    return .object(object)
                }),
            ]))
        } else {
            for outcome in outcomes {
                if let result = outcome.result {
                    output.line("\(outcome.source): captured \(result.captured), duplicate \(result.duplicates)")
                } else {
                    output.error("rejected: \(outcome.rejection ?? outcome.source)")
                }
            }
            // Events for the first two counts, documents for the third (a rejected document stores no event).
            output.line("events: captured \(captured) / duplicate \(duplicates); documents rejected: \(rejected.count) of \(outcomes.count)")
        }
        return rejected.isEmpty ? 0 : 1
    }
}

enum StatusCommand {
    static let command = Command(
        "status", summary: "show the node's identity, stored data and audit state",
        usage: "--data DIR [--json]",
        options: [dataOption, jsonOption]
    ) { arguments, output in
        let node = try openNode(arguments)
        let counts = try node.store.counts(localOrigin: node.configuration.party.urn)
        let audit = try node.store.verifyAudit()
        let last = try node.store.recentAudit(limit: 1).first
        if arguments.flag("json") {
            output.json(.object(try node.statusReport()))
        } else {
            output.line("node      \(node.configuration.party.urn) (\(node.configuration.role.rawValue))")
            output.line("data      \(node.directory.path)")
            output.line("events    \(counts.events) (\(counts.localEvents) captured here, \(counts.receivedEvents) received)")
            output.line("uims      \(counts.uims) identifiers, \(counts.aggregationLinks) aggregation links")
            output.line("audit     \(counts.auditRecords) records, " + (audit.isIntact ? "chain intact" : "CHAIN BROKEN: \(audit.problem ?? "")"))
            if let last { output.line("last      \(last.at) \(last.action) by \(last.actor)") }
            printSync(try node.syncReport(), output)
            printEnquiries(try node.enquiryReport(), output)
        }
        return 0
    }
}

extension StatusCommand {
    /// The enquiry part of `status`: counts by status, sent and received, and the outbox;
    /// nothing when this node has none.
    static func printEnquiries(_ report: JSONObject, _ output: Output) {
        func summary(_ key: String) -> String? {
            let members = report[key]?.objectValue?.members ?? []
            guard !members.isEmpty else { return nil }
            return members.map { member in "\(text(member.value)) \(member.key)" }.joined(separator: ", ")
        }
        func text(_ value: JSONValue?) -> String { if case .number(let n)? = value { n } else { "0" } }
        if let sent = summary("sent") { output.line("enquiries sent: \(sent)") }
        if let received = summary("received") { output.line("enquiries received: \(received)") }
        for o in (report["outbox"]?.arrayValue ?? []).compactMap(\.objectValue) {
            output.line("outbox    \(text(o["waiting"])) \(o["kind"]?.stringValue ?? "?") message(s) not yet accepted, \(text(o["failing"])) after a failed attempt")
        }
    }

    /// The replication part of `status`: one line per outbound stream and recipient, per
    /// inbound stream, per peer, and the newest refused deltas.
    static func printSync(_ report: JSONObject, _ output: Output) {
        func items(_ key: String) -> [JSONObject] { (report[key]?.arrayValue ?? []).compactMap(\.objectValue) }
        func text(_ o: JSONObject, _ key: String) -> String {
            switch o[key] { case .string(let s)?: return s; case .number(let n)?: return n; default: return "-" }
        }
        for o in items("outbound") {
            var line = "sent      \(text(o, "stream")) → \(text(o, "recipient")): created \(text(o, "created")), sent \(text(o, "sent")), acknowledged \(text(o, "acknowledged")), lag \(text(o, "lagDeltas")) deltas / \(text(o, "lagEvents")) events"
            if o["closed"] == .bool(true) { line += " (closed)" }
            if let error = o["lastError"]?.stringValue { line += "; last error: \(error)" }
            output.line(line)
        }
        for o in items("inbound") {
            var line = "received  \(text(o, "stream")): position \(text(o, "received")), \(text(o, "events")) events, updated \(text(o, "updatedAt"))"
            if let stopped = o["stopped"]?.stringValue { line += "; STOPPED: \(stopped)" }
            output.line(line)
        }
        for o in items("peers") {
            var line = "peer      \(text(o, "party")) at \(text(o, "endpoint")): " + (o["lastSeen"]?.stringValue.map { "last seen \($0)" } ?? "never reached")
            if let error = o["lastError"]?.stringValue { line += "; error: \(error)" }
            output.line(line)
        }
        for o in items("mailboxes") {
            output.line("mailbox   \(text(o, "recipient")): \(text(o, "entries")) messages waiting (\(text(o, "bytes")) bytes, sealed)")
        }
        for o in items("rejected") {
            output.line("refused   delta \(text(o, "sequence")) of \(text(o, "stream")) from \(text(o, "peer")) at \(text(o, "at")): \(text(o, "code")): \(text(o, "reason"))")
        }
    }
}

enum AuditCommands {
    static let verify = Command(
        "audit verify", summary: "check the audit log's hash chain and seals (audit key beside the database); names the first bad record",
        usage: "--data DIR [--json]",
        options: [dataOption, jsonOption]
    ) { arguments, output in
        let node = try openNode(arguments)
        let result = try node.store.verifyAudit()
        if arguments.flag("json") {
            output.json(.object([
                "intact": .bool(result.isIntact), "records": .number(String(result.recordCount)),
                "firstBadRecord": result.firstBadSeq.map { .number(String($0)) } ?? .null,
                "problem": result.problem.map(JSONValue.string) ?? .null,
            ]))
        }
        guard result.isIntact else {
            let location = result.firstBadSeq.map { " at record \($0)" } ?? ""
            if result.problem?.hasPrefix("cannot verify") == true {
                output.error("fedtrace audit verify: \(result.problem ?? "")")
            } else {
                output.error("fedtrace audit verify: audit log broken\(location): \(result.problem ?? "")")
            }
            return 1
        }
        if !arguments.flag("json") { output.line("audit log intact: \(result.recordCount) records") }
        return 0
    }

    static let seal = Command(
        "audit seal", summary: "once, after upgrading a store from before audit seals: make its audit key and seal the log as it is",
        usage: "--data DIR [--json]",
        options: [dataOption, jsonOption]
    ) { arguments, output in
        let node = try openNode(arguments)
        let sealed = try node.store.sealAudit(actor: "operator")
        let key = AuditKey.path(forDatabaseAt: node.directory.databasePath)
        if arguments.flag("json") {
            output.json(.object(["sealed": .number(String(sealed)), "auditKey": .string(key)]))
        } else {
            output.line("sealed \(sealed) audit records with a new key in \(key) (mode 0600): back it up with the node's keys")
        }
        // Sealing keeps a chain that was already broken broken; say so.
        let after = try node.store.verifyAudit()
        if !after.isIntact {
            output.error("fedtrace audit seal: the log was sealed as it is, and it does not verify: \(after.problem ?? "")")
            return 1
        }
        return 0
    }

    static let reanchor = Command(
        "audit reanchor", summary: "only after restoring a backup: move the audit anchor back to the restored log's head (the log must verify otherwise); audited",
        usage: "--data DIR --backup FILE [--json]",
        options: [dataOption, OptionSpec("backup", value: "FILE", help: "the backup file that was restored (named in the audit record)"), jsonOption]
    ) { arguments, output in
        let backup = try arguments.required("backup")
        let node = try openNode(arguments)
        let (from, to) = try node.store.reanchorAudit(restoredFrom: backup, actor: "operator")
        if arguments.flag("json") {
            output.json(.object(["anchorBefore": from.map { .number(String($0)) } ?? .null, "anchor": .number(String(to))]))
        } else {
            output.line("audit anchor moved from \(from.map { "record \($0)" } ?? "nothing readable") to record \(to) (the audit.reanchored record)")
        }
        return 0
    }

    static let list = Command(
        "audit list", summary: "show the newest audit records",
        usage: "--data DIR [--limit N] [--json]",
        options: [dataOption, OptionSpec("limit", value: "N", help: "how many records (default 20)"), jsonOption]
    ) { arguments, output in
        let node = try openNode(arguments)
        let records = try node.store.recentAudit(limit: try arguments.integer("limit", default: 20, in: 1...100_000))
        if arguments.flag("json") {
            output.json(.array(records.map { r in
                .object(["seq": .number(String(r.seq)), "at": .string(r.at), "actor": .string(r.actor), "action": .string(r.action),
                         "detail": (try? JSONParser.parse(Array(r.detail.utf8))) ?? .string(r.detail), "hash": .string(r.hash)])
            }))
        } else {
            for r in records { output.line("\(r.seq)  \(r.at)  \(r.actor)  \(r.action)  \(r.detail)") }
        }
        return 0
    }
}

enum BackupCommand {
    static let command = Command(
        "backup", summary: "write a consistent copy of the node's store while it runs (SQLite online backup), audited and checked",
        usage: "--data DIR --out FILE [--json]",
        options: [dataOption, OptionSpec("out", value: "FILE", help: "the new backup file (must not exist)"), jsonOption]
    ) { arguments, output in
        let out = try arguments.required("out")
        let node = try openNode(arguments)
        let check = try node.store.backup(to: out)
        if arguments.flag("json") {
            output.json(.object(["backup": .string(out), "auditRecords": .number(String(check.recordCount)), "auditIntact": .bool(check.isIntact)]))
        } else {
            output.line("backed up \(node.configuration.party.urn) to \(out): \(check.recordCount) audit records, chain \(check.isIntact ? "intact" : "BROKEN")")
            output.line("restore: stop the node, copy \(out) to \(node.directory.databasePath) (remove its -wal and -shm files), start it; the audit key (\(AuditKey.path(forDatabaseAt: node.directory.databasePath))) is not in the backup: keep it with the node's keys")
        }
        return check.isIntact ? 0 : 1
    }
}
