import Foundation
import Testing
import Crypto
import Model
import Net
import Policy
import Store
@testable import Node
@testable import Sync

/// Two in-process nodes (KZ asks, UA answers) over mutual TLS on loopback (docs/hub.md §3).
@Suite("Enquiries between two nodes")
struct EnquiryNodeTests {
    static let kz = try! PartyID(country: "KZ"), ua = try! PartyID(country: "UA"), de = try! PartyID(country: "DE")
    /// What must never appear in an audit record.
    static let secrets = [TestEvents.pack1, TestEvents.pack2, "048200019000000017", "CASE-42", "UA-F0001-M07", "Dnipro", "Importer LLP"]

    func status(_ node: TestNode, _ id: String, role: EnquiryRecord.Role = .requester) throws -> String? {
        try node.store.enquiry(id, role: role)?.status
    }

    @Test("Auto-answered: the trace of the pack, redacted by the answer flow, without what UA may not pass on; both sides audit")
    func autoAnswered() throws {
        let pair = try Pair()
        let sent = try pair.kz.service.send(uims: [TestEvents.pack1], purpose: "investigation", caseReference: "CASE-42", to: Self.ua)
        #expect(["delivered", "answered"].contains(sent.status), "\(sent.status) \(sent.lastError ?? "")")
        try eventually("the answer at KZ") { try status(pair.kz, sent.enquiryID) == "answered" }
        let record = try #require(try pair.kz.store.enquiry(sent.enquiryID, role: .requester))
        #expect(record.answerEvents == 3)
        #expect(record.code == nil)
        #expect(record.reason == nil)   // a whole answer carries no note
        #expect(record.status(at: Date()) == "answered")

        // The trace: S1's commissioning, the packing into the case, the case's shipping; not S2's
        // commissioning (a sibling), not the event UA received from DE (no onward transfer).
        let events = try pair.kz.store.answerEvents(sent.enquiryID)
        let bodies = try events.map { try object($0.event) }
        #expect(bodies.map { $0["bizStep"]?.stringValue ?? "" }.map { $0.split(separator: "/").last.map(String.init) ?? $0 } == ["commissioning", "packing", "shipping"])
        let commissioning = try #require(bodies[0]["ilmd"]?.objectValue)
        #expect(commissioning["tt:machineID"] == nil)           // (c) is not in the answer flow
        #expect(commissioning["tt:productionShift"] == nil)     // (d)
        #expect(commissioning["tt:facilityID"] == "UA-F0001")   // (b)
        #expect(commissioning["tt:brand"] == "Dnipro")          // (g)
        #expect(bodies[2]["tt:subsequentPurchaser"] == nil)     // (i)
        #expect(bodies[2]["tt:consignee"]?.objectValue?["tt:name"] == "Importer LLP")  // (j)
        #expect(events.allSatisfy { $0.context != nil })
        #expect(events.allSatisfy { $0.retentionDeadline > Int64(Date().addingTimeInterval(29 * 86_400).timeIntervalSince1970 * 1000) })
        // Kept with the enquiry, not mixed into KZ's events.
        #expect(try pair.kz.node.store.counts(localOrigin: Self.kz.urn).events == 0)

        // UA's side: decided automatically, answered, the answer delivered.
        try eventually("the answer's delivery") { try pair.ua.store.enquiry(sent.enquiryID, role: .responder)?.answerDeliveredAt != nil }
        let atUA = try #require(try pair.ua.store.enquiry(sent.enquiryID, role: .responder))
        #expect(atUA.decision == "autoAnswer")
        #expect(atUA.status == "answered")
        #expect(atUA.answerDigest == record.answerDigest)
        #expect(atUA.digest == record.digest)   // both hold the same signed enquiry
        #expect(try pair.ua.store.outbox().isEmpty)
        #expect(try pair.kz.store.outbox().isEmpty)

        // Audit on both sides, with IDs, counts and digests only.
        #expect(try pair.kz.audit("enquiry.send").count == 1)
        #expect(try pair.kz.audit("enquiry.answer-received").count == 1)
        #expect(try pair.ua.audit("enquiry.receive").count == 1)
        let answer = try #require(try pair.ua.audit("enquiry.answer").first)
        #expect(answer.detail.contains(#""events":3"#) && answer.detail.contains(#""withheld":1"#), "\(answer.detail)")
        #expect(try pair.ua.audit("enquiry.answer-delivered").count == 1)
        #expect(auditLeaks(try pair.kz.allAudit() + pair.ua.allAudit(), secrets: Self.secrets).isEmpty)
        #expect(try pair.kz.node.store.verifyAudit().isIntact)
        #expect(try pair.ua.node.store.verifyAudit().isIntact)

        // The officer's view on the local API.
        let response = try pair.kz.localClient().send(HTTPRequest(method: .get, target: "/enquiries/\(sent.enquiryID)"))
        #expect(response.status == 200)
        let shown = try object(response.body)
        #expect(shown["status"] == "answered")
        #expect(shown["events"]?.arrayValue?.count == 3)
    }

    @Test("A partial answer says so: cut at the responder's event limit, the signed answer's reason tells the requester")
    func partialAnswerSaysSo() throws {
        let pair = try Pair()
        pair.ua.service.settings.maxAnswerEvents = 2
        let sent = try pair.kz.service.send(uims: [TestEvents.pack1], purpose: "investigation", caseReference: "CASE-43", to: Self.ua)
        try eventually("the answer at KZ") { try status(pair.kz, sent.enquiryID) == "answered" }
        let record = try #require(try pair.kz.store.enquiry(sent.enquiryID, role: .requester))
        #expect(record.answerEvents == 2)
        #expect(record.code == nil)
        #expect(record.reason?.hasPrefix("partial answer: the answer stops at 2 events") == true, "\(String(describing: record.reason))")
        #expect(try pair.ua.store.enquiry(sent.enquiryID, role: .responder)?.reason == record.reason)
    }

    @Test("Onward transfer allowed: UA also answers with the event it received from DE")
    func onwardTransferAllowed() throws {
        let pair = try Pair()
        // DE and UA agree that UA may pass DE's data on to KZ.
        let de = try TestNode("DE")
        let text = TestAgreement.text(onward: #"["urn:fctc:party:KZ"]"#, id: "de-ua")
            .replacingOccurrences(of: "urn:fctc:party:KZ\", \"competentAuthority\": \"State Revenue Committee", with: "urn:fctc:party:DE\", \"competentAuthority\": \"Generalzolldirektion")
            .replacingOccurrences(of: "\"from\": [\"urn:fctc:party:KZ\"]", with: "\"from\": [\"urn:fctc:party:DE\"]")
            .replacingOccurrences(of: "\"to\": [\"urn:fctc:party:KZ\"]", with: "\"to\": [\"urn:fctc:party:DE\"]")
        let bytes = Array(text.utf8)
        let signatures = try [de, pair.ua].map { try AgreementService(node: $0.node).sign(bytes).signature }
        _ = try AgreementService(node: pair.ua.node).importAgreement(bytes, signatures: signatures)
        let sent = try pair.kz.service.send(uims: [TestEvents.pack1], purpose: "investigation", caseReference: "CASE-42", to: Self.ua)
        try eventually("the answer at KZ") { try status(pair.kz, sent.enquiryID) == "answered" }
        let events = try pair.kz.store.answerEvents(sent.enquiryID)
        #expect(events.count == 4)
        #expect(try events.contains { try object($0.event)["readPoint"]?.objectValue?["id"] == "https://id.gs1.org/414/4000001000203" })
    }

    @Test("Manual: queued for UA's officer, approved on the local API, answered")
    func manualApprove() throws {
        let pair = try Pair(agreement: TestAgreement.text(mode: "manual"))
        let sent = try pair.kz.service.send(uims: [TestEvents.caseSSCC], purpose: "illicit-trade-detection", caseReference: "CASE-42", to: Self.ua)
        #expect(sent.status == "delivered")
        let pending = try #require(try pair.ua.store.enquiry(sent.enquiryID, role: .responder))
        #expect(pending.status == "pending")
        #expect(pending.decision == "manual")
        #expect(try pair.ua.store.outbox().isEmpty)
        // Listed for the officer.
        let list = try pair.ua.localClient().send(HTTPRequest(method: .get, target: "/enquiries?role=responder&status=pending"))
        #expect(list.status == 200)
        #expect(try JSONParser.parse(list.body).arrayValue?.count == 1)
        let approved = try pair.ua.localClient().send(HTTPRequest(method: .post, target: "/enquiries/\(sent.enquiryID)/approve"))
        #expect(approved.status == 200, "\(String(decoding: approved.body, as: UTF8.self))")
        try eventually("the answer at KZ") { try status(pair.kz, sent.enquiryID) == "answered" }
        // The case: packing (it is the parent), shipping, and the commissioning of both packs (its contents).
        #expect(try pair.kz.store.answerEvents(sent.enquiryID).count == 4)
        #expect(try pair.ua.audit("enquiry.approve").count == 1)
        // Approving twice is refused.
        let again = try pair.ua.localClient().send(HTTPRequest(method: .post, target: "/enquiries/\(sent.enquiryID)/approve"))
        #expect(again.status == 409)
        #expect(try object(again.body)["code"] == "enquiry.not-pending")
    }

    @Test("Manual: rejected by UA's officer with a reason; KZ sees it refused")
    func manualReject() throws {
        let pair = try Pair(agreement: TestAgreement.text(mode: "autoUpTo", maxUIMs: 1))
        // Two UIMs exceed the automatic limit of one: an officer decides.
        let sent = try pair.kz.service.send(uims: [TestEvents.pack1, TestEvents.pack2], purpose: "investigation", caseReference: "CASE-42", to: Self.ua)
        #expect(try status(pair.ua, sent.enquiryID, role: .responder) == "pending")
        try pair.ua.service.reject(sent.enquiryID, reason: "not within our competence")
        try eventually("the refusal at KZ") { try status(pair.kz, sent.enquiryID) == "refused" }
        let record = try #require(try pair.kz.store.enquiry(sent.enquiryID, role: .requester))
        #expect(record.code == "enquiry.officer")
        #expect(record.reason == "not within our competence")
        #expect(record.answerEvents == 0)
        #expect(try pair.kz.store.answerEvents(sent.enquiryID).isEmpty)
        #expect(try pair.ua.audit("enquiry.reject-by-officer").count == 1)
        #expect(throws: NodeError.self) { try pair.ua.service.reject(sent.enquiryID, reason: "again") }
        #expect(throws: NodeError.self) { try pair.ua.service.approve(sent.enquiryID) }
    }

    @Test("Refused by UA's policy: a purpose the agreement does not list gets a signed refusal")
    func refusedByPolicy() throws {
        let pair = try Pair()
        // KZ's own node refuses to send it...
        #expect(throws: NodeError.self) { try pair.kz.service.send(uims: [TestEvents.pack1], purpose: "prosecution", caseReference: "C", to: Self.ua) }
        // ...so it is made by hand, as a node with another view of the agreement would.
        let e = Enquiry.make(requester: Self.kz, responder: Self.ua, agreement: pair.agreement.hash, uims: [TestEvents.pack1], purpose: "prosecution", caseReference: "C")
        let signed = try EnquiryCodec.sign(e.content, identity: pair.kz.service.identity)
        try pair.kz.store.recordSent(EnquiryStore.NewEnquiry(enquiryID: e.enquiryID, role: .requester, requester: Self.kz.urn, responder: Self.ua.urn,
                                                              agreementHash: pair.agreement.hash, purpose: "prosecution", caseReference: "C",
                                                              uims: [TestEvents.pack1], status: "sent", signed: signed))
        pair.kz.service.deliverDue()
        try eventually("the refusal at KZ") { try status(pair.kz, e.enquiryID) == "refused" }
        let record = try #require(try pair.kz.store.enquiry(e.enquiryID, role: .requester))
        #expect(record.code == "enquiry.purpose")
        #expect(record.reason?.contains("prosecution") == true)
        #expect(record.answerDigest != nil)   // a signed refusal, kept as evidence
        let atUA = try #require(try pair.ua.store.enquiry(e.enquiryID, role: .responder))
        #expect(atUA.decision == "refuse")
        #expect(atUA.status == "refused")
    }

    @Test("Overdue: no answer within the agreement's answerWithinHours")
    func overdue() throws {
        let pair = try Pair(agreement: TestAgreement.text(mode: "manual", hours: 1))
        let sent = try pair.kz.service.send(uims: [TestEvents.pack1], purpose: "investigation", caseReference: "CASE-42", to: Self.ua)
        #expect(sent.status == "delivered")
        #expect(sent.status(at: Date()) == "delivered")
        #expect(sent.status(at: Date().addingTimeInterval(3601)) == "overdue")
        // An hour and more passes (the deadline is moved back instead).
        try pair.kz.node.store.database.write { db in
            try db.prepare("UPDATE enquiries SET answer_by_ms = answer_by_ms - 3700000 WHERE enquiry_id = ?").bind([.text(sent.enquiryID)]).run()
        }
        #expect(try pair.kz.store.enquiry(sent.enquiryID, role: .requester)?.status(at: Date()) == "overdue")
        // UA received it just now: pending, not late yet.
        #expect(try pair.ua.store.enquiry(sent.enquiryID, role: .responder)?.status(at: Date()) == "pending")
        let overdue = try pair.kz.localClient().send(HTTPRequest(method: .get, target: "/enquiries?status=overdue"))
        #expect(try JSONParser.parse(overdue.body).arrayValue?.count == 1)
        // Answered late, it is answered.
        try pair.ua.service.approve(sent.enquiryID)
        try eventually("the answer at KZ") { try status(pair.kz, sent.enquiryID) == "answered" }
        #expect(try pair.kz.store.enquiry(sent.enquiryID, role: .requester)?.status(at: Date()) == "answered")
    }

    @Test("The requester refuses to send what cannot be answered, with a stable code, audited, storing nothing")
    func localRefusals() throws {
        let pair = try Pair()
        let kz = pair.kz.service
        func code(_ body: () throws -> Void) -> String? {
            do { try body(); return nil } catch let error as NodeError { return error.code } catch { return "\(error)" }
        }
        #expect(code { try kz.send(uims: ["not a uim"], purpose: "investigation", caseReference: "C", to: Self.ua) } == "enquiry.uim")
        #expect(code { try kz.send(uims: [], purpose: "investigation", caseReference: "C", to: Self.ua) } == "enquiry.uim")
        #expect(code { try kz.send(uims: [TestEvents.pack1], purpose: "investigation", caseReference: "", to: Self.ua) } == "enquiry.case")
        #expect(code { try kz.send(uims: [TestEvents.pack1], purpose: "curiosity", caseReference: "C", to: Self.ua) } == "enquiry.purpose")
        #expect(code { try kz.send(uims: [TestEvents.pack1], purpose: "prosecution", caseReference: "C", to: Self.ua) } == "enquiry.purpose")
        #expect(code { try kz.send(uims: [TestEvents.pack1], purpose: "investigation", caseReference: "C", to: nil) } == "enquiry.no-owner")
        #expect(code { try kz.send(uims: [TestEvents.pack1], purpose: "investigation", caseReference: "C", to: Self.de) } == "enquiry.no-agreement")
        #expect(code { try kz.send(uims: [TestEvents.pack1], purpose: "investigation", caseReference: "C", to: Self.kz) } == "enquiry.responder")
        // An owner resolver (the directory, later): no pattern matches; two owners; one owner.
        kz.ownerResolver = { uim in uim.contains("/21/S") ? Self.ua : uim.contains("/00/") ? Self.de : nil }
        defer { kz.ownerResolver = nil }
        #expect(code { try kz.send(uims: [TestEvents.unknownPack.replacingOccurrences(of: "/21/", with: "/10/")], purpose: "investigation", caseReference: "C", to: nil) } == "enquiry.no-owner")
        #expect(code { try kz.send(uims: [TestEvents.pack1, TestEvents.caseSSCC], purpose: "investigation", caseReference: "C", to: nil) } == "enquiry.owners")
        #expect(try pair.kz.store.enquiries().isEmpty)
        #expect(try pair.kz.audit("enquiry.refuse-local").count == 10)
        let resolved = try kz.send(uims: [TestEvents.pack1], purpose: "investigation", caseReference: "C", to: nil)
        #expect(resolved.responder == Self.ua.urn)
        // No route to the responder: a node without peers.
        let lonely = try Pair(serve: false, events: false)
        #expect(code { try lonely.kz.service.send(uims: [TestEvents.pack1], purpose: "investigation", caseReference: "C", to: Self.ua) } == "enquiry.no-route")
        #expect(auditLeaks(try pair.kz.allAudit(), secrets: Self.secrets).isEmpty)
    }

    @Test("Malformed, tampered, misaddressed and foreign messages are refused with a code and audited; UA keeps answering")
    func badMessages() throws {
        let pair = try Pair()
        let client = try pair.ua.federationClient(as: "KZ")
        let kzIdentity = try EnquiryPKI.shared.identity("KZ")
        let uaSealing = try EnquiryPKI.shared.identity("UA").sealingCertificate
        func post(_ routing: EnquiryRouting?, _ body: [UInt8]) throws -> (Int, String?) {
            var headers: HTTPHeaders = ["Content-Type": "application/pkcs7-mime"]
            for (name, value) in routing?.fields ?? [] { headers.add(name: name, value: value) }
            let target = "/fed/v1/enquiries"
            let response = try client.send(HTTPRequest(method: .post, target: target, headers: headers, body: body))
            return (response.status, (try? object(response.body))?["code"]?.stringValue)
        }
        func enquiry(agreement: String? = nil, purpose: String = "investigation") -> Enquiry {
            Enquiry.make(requester: Self.kz, responder: Self.ua, agreement: agreement ?? pair.agreement.hash, uims: [TestEvents.pack1], purpose: purpose, caseReference: "CASE-42")
        }
        func routing(_ e: Enquiry, origin: String? = nil, agreement: String? = nil) -> EnquiryRouting {
            EnquiryRouting(kind: .enquiry, messageID: e.enquiryID, origin: origin ?? Self.kz.urn, recipient: Self.ua.urn, agreement: agreement ?? e.agreement)
        }
        func sealed(_ e: Enquiry, signer: PartyCertificateFolder? = nil) throws -> [UInt8] {
            let signer = signer ?? kzIdentity
            return try EnquiryCodec.seal(try EnquiryCodec.sign(e.content, identity: signer), to: uaSealing, identity: signer)
        }
        var expected = 0
        func refused(_ result: (Int, String?), _ status: Int, _ code: String) {
            expected += 1
            #expect(result.0 == status && result.1 == code, "expected \(status) \(code), got \(result.0) \(result.1 ?? "-")")
        }
        let good = enquiry()
        refused(try post(nil, try sealed(good)), 400, "enquiry.routing")
        refused(try post(routing(good, origin: Self.ua.urn), try sealed(good)), 403, "enquiry.identity")
        refused(try post(routing(good), Array("garbage".utf8)), 422, "enquiry.seal")
        var tampered = try sealed(good)
        tampered[tampered.count / 2] ^= 0x20
        refused(try post(routing(good), tampered), 422, "enquiry.seal")
        refused(try post(routing(good), try sealed(good, signer: try EnquiryPKI.shared.identity("DE"))), 422, "enquiry.signature")
        refused(try post(routing(good, agreement: String(repeating: "cd", count: 32)), try sealed(good)), 422, "enquiry.header-mismatch")
        let unknownAgreement = enquiry(agreement: String(repeating: "ef", count: 32))
        refused(try post(routing(unknownAgreement), try sealed(unknownAgreement)), 422, "enquiry.agreement")
        // The good one, twice (as a retry sends it: the same signed object, sealed again): stored once.
        let signedGood = try EnquiryCodec.sign(good.content, identity: kzIdentity)
        let first = try post(routing(good), try EnquiryCodec.seal(signedGood, to: uaSealing, identity: kzIdentity))
        #expect(first.0 == 202)
        #expect(try post(routing(good), try EnquiryCodec.seal(signedGood, to: uaSealing, identity: kzIdentity)).0 == 202)
        #expect(try pair.ua.store.enquiries(role: .responder).count == 1)
        // The same ID with other content.
        let replay = Enquiry(enquiryID: good.enquiryID, requester: Self.kz, responder: Self.ua, agreement: good.agreement, uims: [TestEvents.pack2],
                             purpose: "investigation", caseReference: "CASE-42", sent: good.sent)
        refused(try post(routing(replay), try sealed(replay)), 422, "enquiry.replay")
        // DE has no agreement with UA binding it (as the relay would hand it over).
        let deIdentity = try EnquiryPKI.shared.identity("DE")
        let fromDE = Enquiry.make(requester: Self.de, responder: Self.ua, agreement: pair.agreement.hash, uims: [TestEvents.pack1], purpose: "investigation", caseReference: "X")
        let deSealed = try EnquiryCodec.seal(try EnquiryCodec.sign(fromDE.content, identity: deIdentity), to: uaSealing, identity: deIdentity)
        if case .refused(let error) = pair.ua.service.receiveEnquiry(sealed: deSealed, origin: Self.de.urn, viaHub: "urn:fctc:hub:gsp") {
            expected += 1
            #expect(error.code == "enquiry.agreement")
        } else {
            Issue.record("DE's enquiry was accepted")
        }
        // An answer to an enquiry KZ never made.
        let answerClient = try pair.kz.federationClient(as: "UA")
        let stray = EnquiryAnswer.refusal(of: enquiry(), flow: nil, code: "enquiry.officer", reason: "no")
        let uaIdentity = try EnquiryPKI.shared.identity("UA")
        let straySealed = try EnquiryCodec.seal(try EnquiryCodec.sign(stray.content, identity: uaIdentity), to: kzIdentity.sealingCertificate, identity: uaIdentity)
        var headers: HTTPHeaders = ["Content-Type": "application/pkcs7-mime"]
        for (name, value) in EnquiryRouting(kind: .answer, messageID: stray.enquiryID, origin: Self.ua.urn, recipient: Self.kz.urn, agreement: stray.agreement).fields {
            headers.add(name: name, value: value)
        }
        let strayResponse = try answerClient.send(HTTPRequest(method: .post, target: "/fed/v1/answers", headers: headers, body: straySealed))
        #expect(strayResponse.status == 422)
        #expect(try object(strayResponse.body)["code"] == "answer.unknown-enquiry")
        #expect(try pair.kz.audit("answer.reject").count >= 1)

        // Every refusal recorded and audited at UA; the audit verifies and names no UIM.
        #expect(try pair.ua.store.rejections(limit: 100).count == expected)
        #expect(try pair.ua.audit("enquiry.reject").count == expected)
        #expect(try pair.ua.node.store.verifyAudit().isIntact)
        #expect(auditLeaks(try pair.ua.allAudit(), secrets: Self.secrets).isEmpty)
        // The good enquiry was answered meanwhile (delivered to KZ, which never sent it: refused there).
        #expect(try status(pair.ua, good.enquiryID, role: .responder) == "answered")
        // And a normal enquiry still goes through.
        let normal = try pair.kz.service.send(uims: [TestEvents.pack2], purpose: "investigation", caseReference: "CASE-42", to: Self.ua)
        try eventually("the answer at KZ") { try status(pair.kz, normal.enquiryID) == "answered" }
    }

    @Test("A flood of enquiries from one Party is rate-limited; another Party is not affected")
    func rateLimited() throws {
        let pair = try Pair()
        var settings = pair.ua.service.settings
        settings.maxPerWindow = 3
        pair.ua.service.settings = settings
        var statuses: [String] = []
        for i in 0..<5 {
            let sent = try pair.kz.service.send(uims: [TestEvents.pack1], purpose: "investigation", caseReference: "CASE-\(i)", to: Self.ua)
            statuses.append(sent.status == "answered" ? "delivered" : sent.status)
            if sent.status == "refused" { #expect(sent.code == "enquiry.rate-limited") }
        }
        #expect(statuses == ["delivered", "delivered", "delivered", "refused", "refused"])
        #expect(try pair.ua.store.enquiries(role: .responder).count == 3)
        let limited = try pair.ua.audit("enquiry.reject").filter { $0.detail.contains("enquiry.rate-limited") }
        #expect(limited.count == 2)
        #expect(try pair.kz.audit("enquiry.refused-by-peer").count == 2)
        // DE's enquiry is judged on its own (refused for its agreement, not for KZ's flood).
        let de = try EnquiryPKI.shared.identity("DE")
        let fromDE = Enquiry.make(requester: Self.de, responder: Self.ua, agreement: pair.agreement.hash, uims: [TestEvents.pack1], purpose: "investigation", caseReference: "X")
        let sealed = try EnquiryCodec.seal(try EnquiryCodec.sign(fromDE.content, identity: de), to: try EnquiryPKI.shared.identity("UA").sealingCertificate, identity: de)
        let routing = EnquiryRouting(kind: .enquiry, messageID: fromDE.enquiryID, origin: Self.de.urn, recipient: Self.ua.urn, agreement: fromDE.agreement)
        if case .refused(let error) = pair.ua.service.receiveEnquiry(sealed: sealed, origin: Self.de.urn, routing: routing) {
            #expect(error.code == "enquiry.agreement")
        } else {
            Issue.record("DE's enquiry was accepted")
        }
    }

    @Test("Unreachable responder: the enquiry waits in the outbox and the running node delivers it once UA is back")
    func retriesUntilDelivered() throws {
        let pair = try Pair(serve: false)
        try pair.ua.start()
        let port = pair.ua.federationPort
        pair.ua.stop()
        try pair.kz.start()
        try pair.kz.addPeer(pair.ua, endpoint: "127.0.0.1:\(port)")
        let sent = try pair.kz.service.send(uims: [TestEvents.pack1], purpose: "investigation", caseReference: "CASE-42", to: Self.ua)
        #expect(sent.status == "sent")
        #expect(sent.lastError != nil)
        #expect(try pair.kz.store.outbox().count == 1)
        try pair.ua.start(port: port)
        try pair.ua.addPeer(pair.kz)
        try eventually("delivery and answer", timeout: 20) { try status(pair.kz, sent.enquiryID) == "answered" }
        #expect(try pair.kz.store.outbox().isEmpty)
        #expect(try pair.kz.store.answerEvents(sent.enquiryID).count == 3)
    }

    @Test("Answers are re-checked at KZ: tampered, outside the flow's fields, or for another requester are refused; the good one is kept")
    func badAnswers() throws {
        let pair = try Pair(agreement: TestAgreement.text(mode: "manual"))
        let sent = try pair.kz.service.send(uims: [TestEvents.pack1], purpose: "investigation", caseReference: "CASE-42", to: Self.ua)
        let ua = try EnquiryPKI.shared.identity("UA"), kzSealing = try EnquiryPKI.shared.identity("KZ").sealingCertificate
        let routing = EnquiryRouting(kind: .answer, messageID: sent.enquiryID, origin: Self.ua.urn, recipient: Self.kz.urn, agreement: pair.agreement.hash)
        func answer(_ event: String) throws -> [UInt8] {
            let a = EnquiryAnswer(enquiryID: sent.enquiryID, responder: Self.ua, requester: Self.kz, agreement: pair.agreement.hash, flow: "ua-answers-kz",
                                  status: .answered, code: nil, reason: nil, answered: "2026-11-24T00:00:00.000Z", contexts: [],
                                  events: [AnswerEvent(hashID: "ni:///sha-256;" + String(repeating: "12", count: 32) + "?ver=CBV2.0", declaresError: false,
                                                       context: nil, event: try object(Array(event.utf8)))])
            return try EnquiryCodec.seal(try EnquiryCodec.sign(a.content, identity: ua), to: kzSealing, identity: ua)
        }
        func code(_ intake: EnquiryIntake) -> String? { if case .refused(let e) = intake { e.code } else { nil } }
        // (c) machineID is not in the answer flow's fields: the whole answer is refused.
        #expect(code(pair.kz.service.receiveAnswer(sealed: try answer(TestEvents.commissioning("S1")), origin: Self.ua.urn, routing: routing)) == "answer.out-of-scope")
        // Not an EPCIS event.
        #expect(code(pair.kz.service.receiveAnswer(sealed: try answer(#"{"type":"Nonsense"}"#), origin: Self.ua.urn, routing: routing)) == "answer.payload")
        var tampered = try answer(TestEvents.packing)
        tampered[tampered.count - 30] ^= 0x01
        #expect(code(pair.kz.service.receiveAnswer(sealed: tampered, origin: Self.ua.urn, routing: routing)) == "answer.seal")
        // Signed by UA but sent in DE's name.
        #expect(code(pair.kz.service.receiveAnswer(sealed: try answer(TestEvents.packing), origin: Self.de.urn)) == "answer.signature")
        // Via a hub the agreement does not name.
        #expect(code(pair.kz.service.receiveAnswer(sealed: try answer(TestEvents.packing), origin: Self.ua.urn, viaHub: "urn:fctc:hub:other", routing: routing)) == "answer.relay")
        #expect(try pair.kz.audit("answer.reject").count == 5)
        #expect(try pair.kz.store.enquiry(sent.enquiryID, role: .requester)?.status == "delivered")
        // Via the hub the agreement names, a good answer is kept; the same again is a duplicate; another one is a replay.
        let good = try answer(TestEvents.packing)
        guard case .accepted(let record, false) = pair.kz.service.receiveAnswer(sealed: good, origin: Self.ua.urn, viaHub: "urn:fctc:hub:gsp", routing: routing) else {
            Issue.record("the good answer was refused")
            return
        }
        #expect(record.status == "answered")
        #expect(record.via == "direct" || record.via == "urn:fctc:hub:gsp")
        guard case .accepted(_, true) = pair.kz.service.receiveAnswer(sealed: good, origin: Self.ua.urn, routing: routing) else {
            Issue.record("the same answer again was not a duplicate")
            return
        }
        #expect(code(pair.kz.service.receiveAnswer(sealed: try answer(TestEvents.shipping), origin: Self.ua.urn, routing: routing)) == "answer.replay")
        #expect(try pair.kz.store.answerEvents(sent.enquiryID).count == 1)
        // Retention: past the flow's 30 days the events and the signed answer go, the digest stays.
        #expect(try pair.kz.store.purgeExpiredAnswers(now: Date().addingTimeInterval(29 * 86_400)) == 0)
        #expect(try pair.kz.store.purgeExpiredAnswers(now: Date().addingTimeInterval(31 * 86_400)) == 1)
        let purged = try #require(try pair.kz.store.enquiry(sent.enquiryID, role: .requester))
        #expect(purged.answerSigned == nil && purged.answerDigest != nil)
        #expect(try pair.kz.store.answerEvents(sent.enquiryID).isEmpty)
        #expect(try pair.kz.audit("enquiry.purge").count == 1)
    }

    @Test("Through the hub: the same checks, and the agreement's relay clause must name the hub")
    func viaHub() throws {
        let pair = try Pair(serve: false)
        let kz = try EnquiryPKI.shared.identity("KZ"), uaSealing = try EnquiryPKI.shared.identity("UA").sealingCertificate
        func sealed() throws -> (Enquiry, [UInt8], EnquiryRouting) {
            let e = Enquiry.make(requester: Self.kz, responder: Self.ua, agreement: pair.agreement.hash, uims: [TestEvents.pack1], purpose: "investigation", caseReference: "C")
            let routing = EnquiryRouting(kind: .enquiry, messageID: e.enquiryID, origin: Self.kz.urn, recipient: Self.ua.urn, agreement: e.agreement)
            return (e, try EnquiryCodec.seal(try EnquiryCodec.sign(e.content, identity: kz), to: uaSealing, identity: kz), routing)
        }
        let (_, other, otherRouting) = try sealed()
        if case .refused(let error) = pair.ua.service.receiveEnquiry(sealed: other, origin: Self.kz.urn, viaHub: "urn:fctc:hub:other", routing: otherRouting) {
            #expect(error.code == "enquiry.relay")
        } else {
            Issue.record("accepted through a hub the agreement does not name")
        }
        let (e, body, routing) = try sealed()
        guard case .accepted(let record, false) = pair.ua.service.receiveEnquiry(sealed: body, origin: Self.kz.urn, viaHub: "urn:fctc:hub:gsp", routing: routing) else {
            Issue.record("refused through the agreement's hub")
            return
        }
        #expect(record.enquiryID == e.enquiryID)
        #expect(record.via == "urn:fctc:hub:gsp")
        #expect(record.status == "answered")
        // Without the routing header (a relay that passes only the origin), the signed content decides.
        let (_, bare, _) = try sealed()
        guard case .accepted = pair.ua.service.receiveEnquiry(sealed: bare, origin: Self.kz.urn, viaHub: "urn:fctc:hub:gsp") else {
            Issue.record("refused without a routing header")
            return
        }
        if case .refused(let error) = pair.ua.service.receiveEnquiry(sealed: try sealed().1, origin: Self.de.urn, viaHub: "urn:fctc:hub:gsp") {
            #expect(error.code == "enquiry.signature")
        } else {
            Issue.record("accepted in another Party's name")
        }
    }
}
