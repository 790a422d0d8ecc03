import Foundation
import Bench
import Generator
import Model
import Net
import Node
import Policy
import Store
import Sync

/// `fedtrace demo`: a narrated, throw-away federation on this machine (DESIGN §13, issue 9):
/// a root CA, the GSP hub and three Parties (KZ, UA, DE), each node with its own data
/// directory and certificates, two agreements, replication with redaction (directly and
/// through the hub), the officer's trace, and the audit chains — then a summary and cleanup.
/// Everything runs in this process on loopback; nothing is left running when it ends.
enum DemoCommand {
    static let command = Command(
        "demo", summary: "run a narrated throw-away federation (hub + KZ, UA, DE) on loopback with generated data",
        usage: "[--keep DIR] [--pallets N]",
        options: [
            OptionSpec("keep", value: "DIR", help: "build the federation in DIR (new or empty) and keep it for exploration"),
            OptionSpec("pallets", value: "N", help: "pallets of cigarettes KZ ships to UA (default 2, about 8,100 events)"),
        ]
    ) { arguments, output in
        let pallets = try arguments.integer("pallets", default: 2, in: 1...200)
        let keep = arguments.value("keep")
        let root = keep.map { URL(fileURLWithPath: $0) }
            ?? URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("fedtrace-demo-\(getpid())")
        do {
            try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        } catch {
            throw NodeError(code: "demo.directory", reason: "cannot create the demo directory \(root.path): \(describeError(error))")
        }
        guard access(root.path, W_OK) == 0 else {
            throw NodeError(code: "demo.directory", reason: "the demo directory \(root.path) is not writable")
        }
        if keep != nil, let contents = try? FileManager.default.contentsOfDirectory(atPath: root.path), !contents.isEmpty {
            throw NodeError(code: "demo.directory", reason: "\(root.path) is not empty; --keep needs a new or empty directory")
        }
        var servers: [NodeServer] = []
        defer {
            for server in servers.reversed() { server.shutdown(timeout: .seconds(5)) }
            if keep == nil { try? FileManager.default.removeItem(at: root) }
        }
        return try run(root: root, pallets: pallets, keep: keep != nil, servers: &servers, output: output)
    }

    static let kz = try! PartyID(country: "KZ"), ua = try! PartyID(country: "UA"), de = try! PartyID(country: "DE")
    static let hub = try! PartyID(hub: "gsp")

    static func run(root: URL, pallets: Int, keep: Bool, servers: inout [NodeServer], output: Output) throws -> Int32 {
        let started = Date()
        func step(_ text: String) { output.line("\n== " + text) }
        output.line("FedTrace demo: a throw-away federation on this machine — the interim global focal point (hub) and three Parties.")

        step("1. A federation root CA issues each node its transport, signing and sealing certificates")
        let members = [hub, kz, ua, de]
        let pki = try BenchPKI(leaves: members.flatMap(BenchPKI.folderLeaves))
        defer { pki.remove() }
        try FileManager.default.copyItem(atPath: pki.path("root.pem"), toPath: root.appendingPathComponent("root.pem").path)
        output.line("root CA \(root.appendingPathComponent("root.pem").path); certificates for \(members.map(\.urn).joined(separator: ", "))")

        step("2. Each authority initialises its node (own data directory, own keys, loopback ports)")
        var nodes: [PartyID: OpenNode] = [:]
        for member in members {
            let folder = root.appendingPathComponent("certs/\(member.code)").path
            try pki.installFolder(member, at: folder)
            let configuration = NodeConfiguration(party: member, role: member.kind == .hub ? .hub : .party,
                                                  apiListen: "127.0.0.1:\(try freeLoopbackPort())", federationListen: "127.0.0.1:\(try freeLoopbackPort())")
            nodes[member] = try NodeDirectory.initialize(at: root.appendingPathComponent(member.code.lowercased()).path,
                                                         configuration: configuration, certificates: folder)
            output.line("  \(member.urn.padding(toLength: 18, withPad: " ", startingAt: 0)) \(root.appendingPathComponent(member.code.lowercased()).path)  federation \(configuration.federationListen)")
        }

        step("3. Two agreements are drafted, signed by every Party and imported by every node")
        let bilateral = try agreement(id: "kz-ua-2026", parties: [kz, ua], flows: [
            flow("kz-shipments-to-ua", from: kz, to: [ua], rowFilter: ["bizSteps": .array(["packing", "shipping", "receiving", "accepting"].map(JSONValue.string))],
                 fields: ["a", "e", "f", "g", "h", "j"]),
            flow("kz-answers-ua", from: kz, to: [ua], rowFilter: [:], fields: ["a", "b", "c", "d", "e", "f", "g", "h", "j"], action: "answerEnquiry"),
            flow("ua-answers-kz", from: ua, to: [kz], rowFilter: [:], fields: ["a", "b", "c", "d", "e", "f", "g", "h", "j"], action: "answerEnquiry"),
        ], relay: hub, enquiry: .object(["mode": "autoUpTo", "maxUIMs": 1, "answerWithinHours": 72]))
        let multilateral = try agreement(id: "kz-ua-de-commissioning", parties: [kz, ua, de], flows: [
            flow("kz-commissioning-to-ua-de", from: kz, to: [ua, de], rowFilter: ["bizSteps": .array([.string("commissioning")])], fields: ["a", "g"]),
        ], relay: hub)
        for (bytes, label) in [(bilateral, "bilateral KZ–UA: KZ's packing and shipping events go to UA with Article 8.4.1 (a) (e) (f) (g) (h) (j); enquiries answered automatically for one UIM, by an officer beyond"),
                               (multilateral, "multilateral KZ–UA–DE: KZ's commissioning events go to UA and DE with (a) and (g) only, relay via the hub allowed")] {
            let signers = try Agreement.parse(bytes).partyIDs
            let signatures = try signers.map { try AgreementService(node: nodes[$0]!).sign(bytes).signature }
            var hash = ""
            for party in signers { hash = try AgreementService(node: nodes[party]!).importAgreement(bytes, signatures: signatures).agreement.hash }
            output.line("  \(label)")
            output.line("    \(hash) signed by \(signers.map(\.code).joined(separator: ", ")): active")
        }

        step("4. The nodes start; KZ reaches UA directly, but DE only through the hub (KZ cannot reach DE's network)")
        let settings = SyncService.Settings.shortWaits(tick: .milliseconds(50), peerRefresh: 0.1, maxDeltaAge: 0.2, backoff: 0.1...2)
        for member in [hub, ua, de, kz] {
            do {
                servers.append(try NodeServer.start(node: nodes[member]!, syncSettings: settings))
            } catch {
                throw NodeError(code: "demo.listen", reason: "\(member.urn) cannot start: \(oneLine(error))")
            }
        }
        func endpoint(_ party: PartyID) -> String { nodes[party]!.configuration.federationListen }
        let kzSync = SyncStore(nodes[kz]!.store)
        for member in [kz, ua, de] { try SyncStore(nodes[member]!.store).addPeer(party: hub.urn, endpoint: endpoint(hub), sealingCertificate: nil) }
        try kzSync.addPeer(party: ua.urn, endpoint: endpoint(ua), sealingCertificate: nil)
        output.line("  $ fedtrace peer add --party urn:fctc:hub:gsp --endpoint \(endpoint(hub))   (at KZ, UA, DE)")
        output.line("  $ fedtrace peer add --party UA --endpoint \(endpoint(ua))          (at KZ; DE has no direct route)")
        // The directory: each Party signs its entry (endpoints, certificates, UIM code patterns); the hub stores it as signed.
        let patterns: [PartyID: [String]] = [kz: ["https://id.gs1.org/01/0487"], ua: ["https://id.gs1.org/01/0482"], de: ["https://id.gs1.org/01/040"]]
        for member in [kz, ua, de] {
            _ = try DirectoryService(node: nodes[member]!).publish(endpoints: [endpoint(member)], uimPatterns: patterns[member] ?? [],
                                                                   competentAuthorities: [])
        }
        output.line("  $ fedtrace directory publish --pattern https://id.gs1.org/01/0487 …    (each Party signs its directory entry; the hub keeps it as signed)")

        step("5. KZ's national track-and-trace system reports \(pallets) pallet\(pallets == 1 ? "" : "s") of cigarettes shipped to Ukraine")
        let generator = try SupplyChainGenerator(SupplyChainConfiguration(seed: 2026, manufacturer: kz, importer: ua, transit: try PartyID(country: "GE"), pallets: pallets))
        let files = try generator.writeDocuments(to: root.appendingPathComponent("epcis"), eventsPerDocument: 1000)
        let summary = generator.summary()
        output.line("  \(summary.packsCommissioned) packs, \(summary.cartons) cartons, \(summary.cases) master cases, \(summary.pallets) pallets: \(summary.events) EPCIS 2.0 events in \(files.count) documents")
        let captureStart = Date()
        let outcomes = CaptureService(node: nodes[kz]!).capture(files: files.map(\.path))
        if let rejected = outcomes.first(where: { $0.rejection != nil }) { throw NodeError(code: "demo.capture", reason: rejected.rejection!) }
        let captured = outcomes.reduce(0) { $0 + ($1.result?.captured ?? 0) }
        let captureSeconds = Date().timeIntervalSince(captureStart)
        output.line("  KZ captured \(captured) events in \(String(format: "%.1f", captureSeconds)) s (hashed, indexed, audited)")

        step("6. Signed, sealed deltas replicate what each agreement allows")
        let replicateStart = Date()
        guard waitUntil(120, { replicated(kzSync) }) else {
            throw NodeError(code: "demo.replicate", reason: "replication did not finish within 2 minutes: \((try? kzSync.progress().compactMap(\.lastError).first) ?? "no error recorded")")
        }
        let replicateSeconds = Date().timeIntervalSince(replicateStart)
        for progress in try kzSync.progress() {
            let flow = progress.stream.split(separator: "/").last.map(String.init) ?? progress.stream
            let peer = try kzSync.peers().first { $0.party == progress.recipient }
            let route = peer?.lastSeen == nil ? "through the hub" : "direct"
            output.line("  \(flow) → \(progress.recipient): \(progress.acknowledged) delta\(progress.acknowledged == 1 ? "" : "s") acknowledged with signed receipts (\(route))")
        }
        var receivedCounts: [PartyID: Int] = [:]
        for member in [ua, de] {
            receivedCounts[member] = try nodes[member]!.store.eventCounts(localOrigin: member.urn).receivedEvents
            output.line("  \(member.code) now holds \(receivedCounts[member]!) events from KZ")
        }
        output.line("  in \(String(format: "%.1f", replicateSeconds)) s; the hub relayed sealed envelopes it cannot open")

        step("7. The same commissioning event, as each Party sees it")
        let pack = summary.samplePacks.first?.pack ?? ""
        if let original = try nodes[kz]!.store.events(matching: { var q = EventQuery(); q.epcs = [pack]; q.bizSteps = ["commissioning"]; q.limit = 1; return q }()).first {
            for member in [kz, ua, de] {
                let copy = try nodes[member]!.store.events(hashID: original.hashID).first
                let keys = copy.flatMap { (try? JSONParser.parse($0.raw))?.objectValue }.map(describeMembers) ?? "nothing"
                output.line("  \(member.code): \(keys)")
            }
        }

        step("8. An officer in UA asks: where did this pack come from?")
        output.line("  $ fedtrace trace --data \(nodes[ua]!.directory.path) \(pack)")
        let trace = try nodes[ua]!.store.trace(uim: pack, maxUIMs: 200)
        for event in trace.events.prefix(8) {
            output.line("    \(event.eventTime)  \(event.type.replacingOccurrences(of: "Event", with: "").padding(toLength: 12, withPad: " ", startingAt: 0)) \(EventRendering.short(event.bizStep))  (from \(event.origin))")
        }
        if trace.events.count > 8 { output.line("    … \(trace.events.count - 8) more") }

        step("9. UA's officer asks KZ, the owner of the code (from the directory), for the full trace — through the hub")
        let uaEnquiries = try EnquiryService.shared(for: nodes[ua]!)
        let kzEnquiries = try EnquiryService.shared(for: nodes[kz]!)
        let packs = summary.samplePacks.map(\.pack)
        output.line("  $ fedtrace enquiry send --data \(nodes[ua]!.directory.path) --uim \(pack) --purpose illicit-trade-detection --case UA-2026-0042")
        let enquiryStart = Date()
        let auto = try uaEnquiries.send(uims: [pack], purpose: "illicit-trade-detection", caseReference: "UA-2026-0042", to: nil)
        guard waitUntil(60, { (try? uaEnquiries.find(auto.enquiryID))??.status == "answered" }) else {
            throw NodeError(code: "demo.enquiry", reason: "the enquiry was not answered within a minute: \((try? uaEnquiries.find(auto.enquiryID))??.lastError ?? "no error recorded")")
        }
        let answered = try uaEnquiries.find(auto.enquiryID)!
        output.line("  owner \(auto.responder) (UIM pattern https://id.gs1.org/01/0487); answered automatically via \(answered.via ?? "?") in \(String(format: "%.2f", Date().timeIntervalSince(enquiryStart))) s: \(answered.answerEvents ?? 0) events, signed by KZ, sealed to UA")
        output.line("  the answer carries what the answerEnquiry flow allows (also (b) facility, (c) machine, (d) shift), which replication did not")
        if packs.count >= 3 {
            output.line("  $ fedtrace enquiry send --data … --uim \(packs[0]) --uim \(packs[1]) --uim \(packs[2]) --purpose illicit-trade-detection --case UA-2026-0043")
            let manual = try uaEnquiries.send(uims: Array(packs.prefix(3)), purpose: "illicit-trade-detection", caseReference: "UA-2026-0043", to: nil)
            _ = waitUntil(30, { (try? kzEnquiries.find(manual.enquiryID))??.status == "pending" })
            output.line("  three UIMs exceed the automatic limit: at KZ it waits for an officer (status \((try? kzEnquiries.find(manual.enquiryID))??.status ?? "?"))")
            output.line("  $ fedtrace enquiry approve --data \(nodes[kz]!.directory.path) \(manual.enquiryID)")
            _ = try kzEnquiries.approve(manual.enquiryID, officer: "demo officer")
            if waitUntil(60, { (try? uaEnquiries.find(manual.enquiryID))??.status == "answered" }) {
                output.line("  approved and answered: \((try? uaEnquiries.find(manual.enquiryID))??.answerEvents ?? 0) events reached UA")
            } else {
                output.line("  approved; the answer is on its way (status \((try? uaEnquiries.find(manual.enquiryID))??.status ?? "?"))")
            }
        }

        step("10. Every node verifies its hash-chained audit log")
        var intact = true
        for member in members {
            let audit = try nodes[member]!.store.verifyAudit()
            intact = intact && audit.isIntact
            output.line("  \(member.code.padding(toLength: 4, withPad: " ", startingAt: 0)) \(audit.isIntact ? "intact" : "BROKEN: \(audit.problem ?? "")"), \(audit.recordCount) records")
        }

        step("Summary")
        output.line("  \(captured) events captured at KZ (\(Int(Double(captured) / max(captureSeconds, 0.001))) events/s), \(receivedCounts.values.reduce(0, +)) replicated to UA and DE in \(String(format: "%.1f", replicateSeconds)) s, audit \(intact ? "intact at every node" : "BROKEN"); \(String(format: "%.1f", Date().timeIntervalSince(started))) s in all")
        if keep {
            output.line("  kept in \(root.path) (the nodes stop now). Continue with, for example:")
            output.line("    fedtrace serve --data \(nodes[ua]!.directory.path) &")
            output.line("    fedtrace status --data \(nodes[kz]!.directory.path)")
            output.line("    fedtrace agreement list --data \(nodes[ua]!.directory.path)")
            output.line("    fedtrace events --data \(nodes[de]!.directory.path) --json")
            output.line("    fedtrace trace --data \(nodes[ua]!.directory.path) \(pack)")
            output.line("    fedtrace audit list --data \(nodes[hub]!.directory.path)")
        }
        #if DEBUG
        output.line("  (a debug build; 'swift run -c release fedtrace demo' is several times faster)")
        #endif
        return intact ? 0 : 1
    }

    /// Whether every outbound stream of KZ has been cut to the end and acknowledged by every recipient.
    static func replicated(_ sync: SyncStore) -> Bool {
        guard let streams = try? sync.outboundStreams(), streams.count >= 2, let progress = try? sync.progress() else { return false }
        for stream in streams {
            guard stream.lastSequence > 0, (try? sync.firstPendingRecordTime(origin: kz.urn, after: stream.cursor)) == .some(nil) else { return false }
            guard progress.filter({ $0.stream == stream.stream }).allSatisfy({ $0.acknowledged == stream.lastSequence }) else { return false }
        }
        return true
    }

    static func waitUntil(_ seconds: TimeInterval, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            Thread.sleep(forTimeInterval: 0.1)
        }
        return condition()
    }

    /// The top-level members of an event, with `ilmd` and extension objects one level down.
    static func describeMembers(_ event: JSONObject) -> String {
        event.members.filter { !["type", "eventTime", "eventTimeZoneOffset", "action", "@context"].contains($0.key) }.map { member in
            if case .object(let inner) = member.value, member.key == "ilmd" { return "ilmd{\(inner.keys.joined(separator: ", "))}" }
            return member.key
        }.joined(separator: ", ")
    }

    static func flow(_ id: String, from: PartyID, to: [PartyID], rowFilter: JSONObject, fields: [String], action: String = "replicate") -> JSONValue {
        .object(["id": .string(id), "from": .array([.string(from.urn)]), "to": .array(to.map { .string($0.urn) }), "action": .string(action),
                 "rowFilter": .object(rowFilter), "fields": .array(fields.map(JSONValue.string)),
                 "duties": .object(["retentionDays": 365, "receipts": true])])
    }

    /// A drafted agreement between `parties` with these replicate flows (plus the draft's
    /// answerEnquiry flows) and relay clause.
    static func agreement(id: String, parties: [PartyID], flows: [JSONValue], relay: PartyID?, enquiry: JSONValue? = nil) throws -> [UInt8] {
        let draft = try AgreementService.draft(party: parties[0], with: Array(parties.dropFirst()), id: id)
        guard case .object(var document) = try JSONParser.parse(draft), case .array(let drafted)? = document["flows"] else {
            throw NodeError(code: "demo.agreement", reason: "the drafted agreement has no flows")
        }
        let kept = drafted.filter { $0.objectValue?["action"]?.stringValue != "replicate" }
        document["flows"] = .array(flows + kept)
        if let enquiry { document["enquiry"] = enquiry }
        document["relay"] = .object(["viaHub": relay.map { .string($0.urn) } ?? .null])
        return JSONWriter.serialize(.object(document))
    }

    static func describeError(_ error: any Error) -> String {
        (error as NSError).localizedDescription
    }
}
