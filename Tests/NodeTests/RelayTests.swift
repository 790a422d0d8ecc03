import Foundation
import Testing
import Crypto
import Generator
import Model
import Net
import Policy
import Store
import Sync
import TestSupport
@testable import Node

/// A hub and two Parties in one process (docs/hub.md §1): KZ cannot reach UA directly, so its
/// deltas go through the hub, UA pulls them from its mailbox, applies them and sends the
/// signed receipts back the same way.
@Suite(.serialized) struct RelayTests {
    static let kz = try! PartyID(country: "KZ"), ua = try! PartyID(country: "UA"), hub = try! PartyID(hub: "gsp")

    /// A federation PKI made by the Certs/ scripts, once.
    static let pki: URL = {
        let directory = try! makeTemporaryDirectory("relay-pki")
        func certs(_ script: String, _ arguments: [String]) {
            let result = try! run("/bin/bash", [repositoryRoot.appendingPathComponent("Certs/\(script)").path] + arguments)
            precondition(result.status == 0, "\(script): \(result.output)")
        }
        certs("make-root.sh", ["--root", directory.appendingPathComponent("root").path])
        for party in ["KZ", "UA"] { certs("issue-party.sh", [party, directory.appendingPathComponent(party).path, "--root", directory.appendingPathComponent("root").path]) }
        certs("issue-hub.sh", ["gsp", directory.appendingPathComponent("hub").path, "--root", directory.appendingPathComponent("root").path])
        return directory
    }()

    struct Federation {
        let kz: OpenNode, ua: OpenNode, hub: OpenNode
        let agreement: Agreement
    }

    /// Three nodes with their certificates and one KZ ↔ UA agreement; `relay` names the hub or not.
    static func federation(_ label: String, relay: Bool = true, enquiries: Bool = false) throws -> Federation {
        let root = try makeTemporaryDirectory(label)
        func node(_ party: PartyID, _ folder: String) throws -> OpenNode {
            let configuration = NodeConfiguration(party: party, role: party.kind == .hub ? .hub : .party,
                                                  apiListen: "127.0.0.1:0", federationListen: "127.0.0.1:0")
            return try NodeDirectory.initialize(at: root.appendingPathComponent(party.code).path, configuration: configuration,
                                                certificates: pki.appendingPathComponent(folder).path)
        }
        let kzNode = try node(kz, "KZ"), uaNode = try node(ua, "UA"), hubNode = try node(hub, "hub")
        let draft = try AgreementService.draft(party: kz, with: [ua], id: "kz-ua-relay")
        guard case .object(var document) = try JSONParser.parse(draft), case .array(var flows)? = document["flows"] else { throw NodeError(code: "test", reason: "the draft has no flows") }
        for index in flows.indices {
            guard case .object(var flow) = flows[index] else { continue }
            flow["rowFilter"] = .object([:])
            flow["fields"] = .array(["a", "f", "g", "h", "j"].map(JSONValue.string))
            flows[index] = .object(flow)
        }
        if enquiries {
            for (from, to) in [(kz, ua), (ua, kz)] {
                flows.append(.object(["id": .string("\(from.code.lowercased())-answers-\(to.code.lowercased())"), "from": .array([.string(from.urn)]),
                                      "to": .array([.string(to.urn)]), "action": "answerEnquiry", "rowFilter": .object([:]),
                                      "fields": .array(["a", "f", "g", "h", "j"].map(JSONValue.string)),
                                      "duties": .object(["retentionDays": 30, "receipts": true])]))
            }
            document["enquiry"] = .object(["mode": "autoUpTo", "maxUIMs": 2, "answerWithinHours": 72])
        }
        document["flows"] = .array(flows)
        document["relay"] = .object(["viaHub": relay ? .string(hub.urn) : .null])
        let bytes = JSONWriter.serialize(.object(document))
        let signatures = try [kzNode, uaNode].map { try AgreementService(node: $0).sign(bytes).signature }
        var agreement: Agreement?
        for node in [kzNode, uaNode] { agreement = try AgreementService(node: node).importAgreement(bytes, signatures: signatures).agreement }
        return Federation(kz: kzNode, ua: uaNode, hub: hubNode, agreement: agreement!)
    }

    static var settings: SyncService.Settings {
        var settings = SyncService.Settings.shortWaits(tick: .milliseconds(20), peerRefresh: 0.05, maxDeltaAge: 0.05, backoff: 0.05...0.5)
        settings.relayResendAfter = 1
        return settings
    }

    /// A port nothing listens on, now or later in this process.
    static func deadPort() throws -> Int { try deadLoopbackPort() }

    /// Captures a small generated chain at KZ; returns the captured hash IDs and one pack UIM.
    static func capture(_ node: OpenNode, events: Int = 600) throws -> (ids: Set<String>, uim: String) {
        let generator = try SupplyChainGenerator(SupplyChainConfiguration.configuration(approximateEvents: events, seed: 5, manufacturer: kz, importer: ua))
        var ids = Set<String>()
        try generator.forEachDocument(eventsPerDocument: 200) { bytes in
            let outcome = CaptureService(node: node).capture(bytes: bytes, source: "relay-test")
            ids.formUnion(outcome.result?.capturedIDs ?? [])
        }
        return (ids, generator.summary().samplePacks.first?.pack ?? "")
    }

    /// Each Party publishes its signed entry in the hub's directory (the hub relays only
    /// between listed Parties).
    static func publish(_ nodes: OpenNode...) throws {
        for node in nodes {
            let patterns = node.configuration.party == kz ? ["https://id.gs1.org/01/0487"] : []
            let report = try DirectoryService(node: node).publish(endpoints: [], uimPatterns: patterns,
                                                                  competentAuthorities: [])
            #expect(report.deliveries.allSatisfy { if case .stored = $0.outcome { true } else { false } }, "\(report.deliveries)")
        }
    }

    /// The hub, KZ and UA serving; neither Party has the other as a peer, only the hub, and
    /// both are published in its directory.
    struct Serving {
        let hub: NodeServer, kz: NodeServer, ua: NodeServer
        func stop() { for server in [ua, kz, hub] { server.shutdown(timeout: .seconds(5)) } }
    }

    static func serveThroughHub(_ f: Federation) throws -> Serving {
        let hub = try NodeServer.start(node: f.hub, syncSettings: settings)
        let kz = try NodeServer.start(node: f.kz, syncSettings: settings)
        let ua = try NodeServer.start(node: f.ua, syncSettings: settings)
        let serving = Serving(hub: hub, kz: kz, ua: ua)
        do {
            for node in [f.kz, f.ua] {
                try SyncStore(node.store).addPeer(party: Self.hub.urn, endpoint: "127.0.0.1:\(hub.federationPort!)", sealingCertificate: nil)
            }
            try publish(f.kz, f.ua)
        } catch {
            serving.stop()
            throw error
        }
        return serving
    }

    static func waitUntil(_ timeout: TimeInterval = 60, _ condition: () throws -> Bool) throws -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if try condition() { return true }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return try condition()
    }

    static func acknowledgedAll(_ node: OpenNode) throws -> Bool {
        let sync = SyncStore(node.store)
        let streams = try sync.outboundStreams()
        guard let stream = streams.first(where: { $0.lastSequence > 0 }) else { return false }
        return try sync.progress().allSatisfy { p in p.stream != stream.stream || p.acknowledged == stream.lastSequence }
            && sync.firstPendingRecordTime(origin: node.configuration.party.urn, after: stream.cursor) == nil
    }

    @Test func deltasGoThroughTheHubWhenThePeerIsUnreachableAndTheHubSeesNoPlaintext() throws {
        let f = try Self.federation("relay-through")
        let hubServer = try NodeServer.start(node: f.hub, syncSettings: Self.settings)
        defer { hubServer.shutdown(timeout: .seconds(5)) }
        let uaServer = try NodeServer.start(node: f.ua, syncSettings: Self.settings)
        defer { uaServer.shutdown(timeout: .seconds(5)) }
        let kzServer = try NodeServer.start(node: f.kz, syncSettings: Self.settings)
        defer { kzServer.shutdown(timeout: .seconds(5)) }
        let hubEndpoint = "127.0.0.1:\(hubServer.federationPort!)"
        // KZ knows UA's sealing certificate but only a dead endpoint for it.
        let uaSealing = try Array(Data(contentsOf: Self.pki.appendingPathComponent("UA/sealing.pem")))
        try SyncStore(f.kz.store).addPeer(party: Self.ua.urn, endpoint: "127.0.0.1:\(try Self.deadPort())", sealingCertificate: uaSealing)
        try SyncStore(f.kz.store).addPeer(party: Self.hub.urn, endpoint: hubEndpoint, sealingCertificate: nil)
        try SyncStore(f.ua.store).addPeer(party: Self.hub.urn, endpoint: hubEndpoint, sealingCertificate: nil)
        try Self.publish(f.kz, f.ua)

        let (ids, uim) = try Self.capture(f.kz)
        #expect(try Self.waitUntil { try Self.acknowledgedAll(f.kz) }, "KZ never got receipts for everything through the hub")
        // UA holds every event, from KZ, redacted; the hub's mailbox is empty again.
        let received = try f.ua.store.events(matching: { var q = EventQuery(); q.limit = 100_000; return q }())
        #expect(Set(received.map(\.hashID)) == ids)
        #expect(received.allSatisfy { $0.origin == Self.kz.urn })
        #expect(try Self.waitUntil(10) { try MailboxStore(f.hub.store).depth().isEmpty }, "the hub still holds messages")
        // Everything went through the hub: KZ never reached UA.
        #expect(try SyncStore(f.kz.store).peers().first { $0.party == Self.ua.urn }?.lastSeen == nil)
        let hubAudit = try f.hub.store.recentAudit(limit: 10_000)
        #expect(hubAudit.contains { $0.action == "relay.accept" && $0.detail.contains("\"kind\":\"delta\"") })
        #expect(hubAudit.contains { $0.action == "relay.accept" && $0.detail.contains("\"kind\":\"receipt\"") })
        for node in [f.kz, f.ua, f.hub] { #expect(try node.store.verifyAudit().isIntact) }
        // No UIM and no event field in clear anywhere in the hub's data directory.
        hubServer.shutdown(timeout: .seconds(5))
        let pack = try #require(uim.split(separator: "/").last.map(String.init), "a pack UIM")
        let needles = [uim, pack, "tt:manufactureCountry", "eventTime", "urn:epc:id:sgtin"].map { Array($0.utf8) }
        let files = try FileManager.default.subpathsOfDirectory(atPath: f.hub.directory.path)
        for file in files {
            guard let data = FileManager.default.contents(atPath: f.hub.directory.path + "/" + file) else { continue }
            let bytes = Array(data)
            for needle in needles {
                #expect(!Self.contains(bytes, needle), "\(file) holds \(String(decoding: needle, as: UTF8.self)) in clear")
            }
        }
    }

    static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, haystack.count >= needle.count else { return false }
        let first = needle[0]
        var i = 0
        while i <= haystack.count - needle.count {
            if haystack[i] == first && Array(haystack[i..<(i + needle.count)]) == needle { return true }
            i += 1
        }
        return false
    }

    @Test func aRecipientKnownOnlyFromTheDirectoryIsReachedThroughTheHubAndAnAlteredDeltaIsRefused() throws {
        let f = try Self.federation("relay-tamper")
        let hubServer = try NodeServer.start(node: f.hub, syncSettings: Self.settings)
        defer { hubServer.shutdown(timeout: .seconds(5)) }
        let kzServer = try NodeServer.start(node: f.kz, syncSettings: Self.settings)
        defer { kzServer.shutdown(timeout: .seconds(5)) }
        let hubEndpoint = "127.0.0.1:\(hubServer.federationPort!)"
        // KZ has no `peer add` for UA at all: it finds UA (and its sealing certificate) in the directory.
        try SyncStore(f.kz.store).addPeer(party: Self.hub.urn, endpoint: hubEndpoint, sealingCertificate: nil)
        try SyncStore(f.ua.store).addPeer(party: Self.hub.urn, endpoint: hubEndpoint, sealingCertificate: nil)
        try Self.publish(f.kz, f.ua)
        let (ids, _) = try Self.capture(f.kz, events: 300)
        // UA is offline: the deltas wait at the hub. Alter the first one there.
        #expect(try Self.waitUntil { try MailboxStore(f.hub.store).depth().first?.entries ?? 0 > 0 })
        try f.hub.store.database.write { db in
            try db.execute("UPDATE mailbox SET body = substr(body, 1, length(body) - 40) || zeroblob(40) WHERE seq = (SELECT min(seq) FROM mailbox)")
        }
        let uaServer = try NodeServer.start(node: f.ua, syncSettings: Self.settings)
        defer { uaServer.shutdown(timeout: .seconds(5)) }
        // UA refuses the altered copy (recorded and audited), KZ relays it again, all arrive once.
        #expect(try Self.waitUntil { try Self.acknowledgedAll(f.kz) }, "KZ never got receipts for everything")
        let rejections = try SyncStore(f.ua.store).rejections()
        #expect(rejections.contains { $0.code == "delta.seal" || $0.code == "delta.signature" }, "\(rejections)")
        #expect(rejections.first?.peer.contains("via \(Self.hub.urn)") == true)
        // KZ was told, as it would be by a direct push: a signed refusal notice came back through the hub.
        #expect(try f.kz.store.recentAudit(limit: 10_000).contains { $0.action == "delta.refused-by-peer" && $0.detail.contains("via \(Self.hub.urn)") })
        let received = try f.ua.store.events(matching: { var q = EventQuery(); q.limit = 100_000; return q }())
        #expect(received.count == ids.count && Set(received.map(\.hashID)) == ids)
        for node in [f.kz, f.ua, f.hub] { #expect(try node.store.verifyAudit().isIntact) }
    }

    @Test func theHubRefusesWhatNoRegisteredAgreementAllows() throws {
        let f = try Self.federation("relay-refuse", relay: false)
        let hub = HubService(node: f.hub)
        let headers: HTTPHeaders = ["Fedtrace-Kind": "enquiry", "Fedtrace-Message-ID": "urn:uuid:1", "Fedtrace-Origin": Self.kz.urn,
                                    "Fedtrace-Recipients": Self.ua.urn, "Fedtrace-Agreement": f.agreement.hash]
        func code(_ headers: HTTPHeaders, peer: String = Self.kz.urn, body: [UInt8] = [1, 2, 3]) -> String? {
            do { _ = try hub.relay(headers: headers, body: body, peer: peer); return nil } catch { return error.code }
        }
        #expect(code(headers) == "relay.directory")            // neither Party is in the hub's directory
        let hubServer = try NodeServer.start(node: f.hub, syncSettings: Self.settings)
        defer { hubServer.shutdown(timeout: .seconds(5)) }
        for node in [f.kz, f.ua] {
            try SyncStore(node.store).addPeer(party: Self.hub.urn, endpoint: "127.0.0.1:\(hubServer.federationPort!)", sealingCertificate: nil)
        }
        try Self.publish(f.kz)
        #expect(code(headers) == "relay.directory")            // UA is still not listed
        try Self.publish(f.ua)
        let listed = HubService(node: f.hub)
        func listedCode() -> String? {
            do throws(APIProblem) { _ = try listed.relay(headers: headers, body: [1], peer: Self.kz.urn); return nil } catch { return error.code }
        }
        #expect(listedCode() == "relay.agreement")             // listed now, but the agreement is not registered
        #expect(code(headers, peer: Self.ua.urn) == "relay.identity")
        var bad = headers
        bad.replaceOrAdd(name: "Fedtrace-Kind", value: "gossip")
        #expect(code(bad) == "relay.headers")
        bad = headers
        bad.replaceOrAdd(name: "Fedtrace-Recipients", value: Self.hub.urn)
        #expect(code(bad) == "relay.headers")
        bad = headers
        bad.remove(name: "Fedtrace-Agreement")
        #expect(code(bad) == "relay.headers")
        // Registered, but its relay clause names no hub.
        let signatures = try f.kz.store.database.read { db in
            try db.prepare("SELECT cms FROM agreement_signatures WHERE agreement_hash = ?").bind([.text(f.agreement.hash)]).rows { $0.blob(0) }
        }
        _ = try AgreementService(node: f.hub).importAgreement(f.agreement.canonicalBytes, signatures: signatures)
        let registered = HubService(node: f.hub)
        func codeNow(_ headers: HTTPHeaders, body: [UInt8] = [1, 2, 3]) -> String? {
            do { _ = try registered.relay(headers: headers, body: body, peer: Self.kz.urn); return nil } catch { return error.code }
        }
        #expect(codeNow(headers) == "relay.not-allowed")
        #expect(codeNow(headers, body: []) == "relay.body")
        #expect(try MailboxStore(f.hub.store).depth().isEmpty)
        let refusals = try f.hub.store.recentAudit(limit: 100).filter { $0.action == "relay.refuse" }
        #expect(refusals.count >= 8)
        #expect(try f.hub.store.verifyAudit().isIntact)
    }

    @Test func enquiriesTravelThroughTheHubToTheOwnerFoundInTheDirectory() throws {
        let f = try Self.federation("relay-enquiry", enquiries: true)
        let serving = try Self.serveThroughHub(f)
        defer { serving.stop() }
        _ = try Self.capture(f.kz, events: 300)
        let packs = try f.kz.store.events(matching: { var q = EventQuery(); q.bizSteps = ["commissioning"]; q.limit = 1; return q }())
            .flatMap { event -> [String] in
                guard case .object(let o)? = try? JSONParser.parse(event.raw), case .array(let list)? = o["epcList"] else { return [] }
                return list.compactMap(\.stringValue)
            }
        try #require(packs.count >= 3)
        let ua = try EnquiryService.shared(for: f.ua)
        let kz = try EnquiryService.shared(for: f.kz)
        // One UIM: answered automatically (autoUpTo 2); the owner comes from KZ's directory pattern.
        let auto = try ua.send(uims: [packs[0]], purpose: "illicit-trade-detection", caseReference: "UA-2026-001", to: nil)
        #expect(auto.responder == Self.kz.urn)
        #expect(try Self.waitUntil(30) { try ua.find(auto.enquiryID)?.status == "answered" }, "\(String(describing: try? ua.find(auto.enquiryID)))")
        let answered = try #require(try ua.find(auto.enquiryID))
        #expect((answered.answerEvents ?? 0) > 0)
        #expect(answered.via == Self.hub.urn)
        // Three UIMs: more than autoUpTo allows, so it waits for an officer at KZ, who approves.
        let manual = try ua.send(uims: Array(packs.prefix(3)), purpose: "illicit-trade-detection", caseReference: "UA-2026-002", to: nil)
        #expect(try Self.waitUntil(30) { try kz.find(manual.enquiryID)?.status == "pending" })
        #expect(try ua.find(manual.enquiryID)?.status == "delivered")
        _ = try kz.approve(manual.enquiryID, officer: "officer@kz")
        #expect(try Self.waitUntil(30) { try ua.find(manual.enquiryID)?.status == "answered" })
        // The hub saw envelopes only: no UIM or case reference in its files.
        #expect(try Self.waitUntil(10) { try MailboxStore(f.hub.store).depth().isEmpty })
        serving.hub.shutdown(timeout: .seconds(5))
        for file in try FileManager.default.subpathsOfDirectory(atPath: f.hub.directory.path) {
            guard let data = FileManager.default.contents(atPath: f.hub.directory.path + "/" + file) else { continue }
            for needle in [packs[0], "UA-2026-001", "UA-2026-002"] {
                #expect(!Self.contains(Array(data), Array(needle.utf8)), "\(file) holds \(needle)")
            }
        }
        for node in [f.kz, f.ua, f.hub] { #expect(try node.store.verifyAudit().isIntact) }
    }

    /// An enquiry the owner refuses on arrival (here: over its rate limit) after the hub
    /// accepted it: a signed refusal notice comes back through the hub, so the requester sees
    /// `refused` with the owner's code, not `delivered` and later `overdue`. A notice the hub
    /// makes up itself (signed with the hub's key, claiming to come from KZ) changes nothing.
    @Test func anEnquiryRefusedAfterTheHubAcceptedItComesBackRefused() throws {
        let f = try Self.federation("relay-enquiry-refused", enquiries: true)
        let serving = try Self.serveThroughHub(f)
        defer { serving.stop() }
        let (_, uim) = try Self.capture(f.kz, events: 120)
        let ua = try EnquiryService.shared(for: f.ua)
        let kz = try EnquiryService.shared(for: f.kz)
        kz.settings.maxPerWindow = 0

        // A forged notice first: the hub signs it, names KZ as origin, and deposits it for UA.
        let sent = try ua.send(uims: [uim], purpose: "illicit-trade-detection", caseReference: "UA-2026-009", to: Self.kz)
        let hubFolder = try PartyCertificateFolder.load(from: Self.pki.appendingPathComponent("hub").path, expectedParty: Self.hub.urn)
        let forged = try CMS.sign(JSONWriter.serialize(.object([
            "about": "enquiry", "messageID": .string(sent.enquiryID), "code": "enquiry.forged", "reason": "made up by the hub",
            "from": .string(Self.kz.urn),
        ])), signer: hubFolder.signingCertificate, key: hubFolder.signingKey)
        _ = try MailboxStore(f.hub.store).deposit(recipient: Self.ua.urn, kind: "refusal", messageID: "urn:fedtrace:refusal:forged", origin: Self.kz.urn,
                                                  agreement: f.agreement.hash, headers: [("Fedtrace-Kind", "refusal"), ("Fedtrace-Origin", Self.kz.urn)],
                                                  body: forged, ttl: 3600)
        // Then KZ's real refusal (rate limit) travels back.
        #expect(try Self.waitUntil(30) { try ua.find(sent.enquiryID)?.status == "refused" }, "\(String(describing: try? ua.find(sent.enquiryID)))")
        let record = try #require(try ua.find(sent.enquiryID))
        #expect(record.code == "enquiry.rate-limited", "\(record)")
        let audit = try f.ua.store.recentAudit(limit: 10_000)
        #expect(audit.contains { $0.action == "enquiry.refused-by-peer" && $0.detail.contains("via") && $0.detail.contains(Self.hub.urn) })
        #expect(!audit.contains { $0.detail.contains("enquiry.forged") })
        #expect(try Self.waitUntil(10) { try MailboxStore(f.hub.store).depth().isEmpty })
        for node in [f.kz, f.ua, f.hub] { #expect(try node.store.verifyAudit().isIntact) }
    }

    /// A hub that does not know the agreement (or a Party) *yet* — the sender's hub worker
    /// registers agreements on its own schedule — answers `relay.agreement` or
    /// `relay.directory`: the enquiry transport retries later instead of ending the enquiry
    /// as refused. Any other hub refusal still ends it. (A fake hub on the real hub's
    /// certificate answers each code in turn.)
    @Test(arguments: [("relay.agreement", false), ("relay.directory", false), ("relay.headers", true), ("relay.not-allowed", true)])
    func hubNotReadyIsRetriedOtherRefusalsAreFinal(code: String, final: Bool) throws {
        let f = try Self.federation("relay-not-ready")
        let folder = Self.pki.appendingPathComponent("hub").path
        let tls = TLSConfiguration.server(certificateChainFile: folder + "/transport.pem", privateKeyFile: folder + "/transport.key",
                                          trustRootsFile: folder + "/root.pem")
        let fakeHub = try HTTPServer.start(configuration: .init(host: "127.0.0.1", port: 0, tls: tls)) { request, _ in
            guard request.target == "/fed/v1/relay" else { return HTTPResponse(status: 404) }
            return HTTPResponse(status: 422, headers: ["Content-Type": "application/problem+json"],
                                body: JSONWriter.serialize(.object(["code": .string(code), "detail": "not here"])))
        }
        defer { fakeHub.shutdown(timeout: .seconds(2)) }
        try SyncStore(f.ua.store).addPeer(party: Self.hub.urn, endpoint: "127.0.0.1:\(fakeHub.port)", sealingCertificate: nil)
        let transport = HubAwareEnquiryTransport(service: try EnquiryService.shared(for: f.ua))
        let routing = EnquiryRouting(kind: .enquiry, messageID: "urn:uuid:00000000-0000-4000-8000-000000000001", origin: Self.ua.urn,
                                     recipient: Self.kz.urn, agreement: f.agreement.hash)
        do {
            _ = try transport.deliver(EnquiryEnvelope(routing: routing, body: [1, 2, 3]))
            Issue.record("the fake hub's 422 was taken as delivered")
        } catch let refusal as EnquiryDeliveryRefusal {
            #expect(final, "\(code) ended the enquiry: \(refusal.code)")
            #expect(refusal.code == code)
        } catch let error as NodeError {
            #expect(!final, "\(code) was retried: \(error.code)")
            #expect(error.code == "enquiry.hub-not-ready" && error.reason.contains(code), "\(error)")
        }
    }
    /// A notification to a recipient that never answers (a listening socket nobody
    /// accepts on) is under way when the hub stops: `stop` waits for it, so nothing of the
    /// hub's holds its node and store open afterwards (a demo on a full disk once found the
    /// hub's store still open after every server had stopped).
    @Test func stoppingTheHubWaitsForANotificationUnderWay() throws {
        let f = try Self.federation("relay-hub-stop")
        let hole = try SilentListener()
        let hubServer = try NodeServer.start(node: f.hub, syncSettings: Self.settings)
        defer { hubServer.shutdown(timeout: .seconds(5)) }
        try SyncStore(f.ua.store).addPeer(party: Self.hub.urn, endpoint: "127.0.0.1:\(hubServer.federationPort!)", sealingCertificate: nil)
        _ = try DirectoryService(node: f.ua).publish(endpoints: ["127.0.0.1:\(hole.port)"], uimPatterns: [], competentAuthorities: [])
        var hub: HubService? = HubService(node: f.hub)
        weak let released = hub
        hub!.notify(Self.ua)
        Thread.sleep(forTimeInterval: 0.3)  // connecting to the silent listener
        let stopping = Date()
        hub!.stop()
        #expect(Date().timeIntervalSince(stopping) > 0.5, "stop returned while the notification was under way")
        hub = nil
        #expect(released == nil, "the notification still holds the hub after stop")
    }
}

/// A TCP socket listening on 127.0.0.1 that never accepts: connections complete in the
/// kernel's backlog and then hear nothing.
final class SilentListener {
    let descriptor: Int32
    let port: Int

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = fd >= 0 && withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && listen(fd, 8) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else {
            if fd >= 0 { close(fd) }
            throw NodeError(code: "test", reason: "cannot listen: \(String(cString: strerror(errno)))")
        }
        descriptor = fd
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit { close(descriptor) }
}
