import Foundation
import Testing
import Crypto
import Model
import Node
@testable import Sync

/// The enquiry and answer formats (docs/hub.md §3): strict parsing, sign-then-seal, and the
/// checks of opening one (seal, signature, signer, routing header, addressee).
@Suite("Enquiry formats")
struct EnquiryFormatTests {
    static let kz = try! PartyID(country: "KZ"), ua = try! PartyID(country: "UA"), de = try! PartyID(country: "DE")
    static let hash = String(repeating: "ab", count: 32)

    static func enquiry(uims: [String] = [TestEvents.pack1], to responder: PartyID = ua) -> Enquiry {
        Enquiry.make(requester: kz, responder: responder, agreement: hash, uims: uims, purpose: "investigation", caseReference: "CASE-7")
    }

    static func routing(_ e: Enquiry) -> EnquiryRouting {
        EnquiryRouting(kind: .enquiry, messageID: e.enquiryID, origin: e.requester.urn, recipient: e.responder.urn, agreement: e.agreement)
    }

    /// Signed by `signer`'s folder, sealed to `recipient`'s.
    static func sealed(_ content: [UInt8], signer: String = "KZ", to recipient: String = "UA") throws -> [UInt8] {
        let signing = try EnquiryPKI.shared.identity(signer)
        let signed = try EnquiryCodec.sign(content, identity: signing)
        return try EnquiryCodec.seal(signed, to: try EnquiryPKI.shared.identity(recipient).sealingCertificate, identity: signing)
    }

    @Test("An enquiry's content reads back exactly, in a fixed member order")
    func enquiryRoundTrip() throws {
        let e = Self.enquiry(uims: [TestEvents.pack1, TestEvents.pack2])
        let text = String(decoding: e.content, as: UTF8.self)
        #expect(text.hasPrefix(#"{"enquiryID":"urn:uuid:"#))
        #expect(try Enquiry(content: e.content) == e)
        #expect(EnquiryJSON.isUUIDURN(e.enquiryID))
        #expect(Self.enquiry().enquiryID != e.enquiryID)
    }

    @Test("An enquiry that is not exactly the format is refused (enquiry.form)", arguments: [
        (#""sent":"#, #""extra":1,"sent":"#, "unknown member"),
        (#","caseReference":"CASE-7""#, "", "missing member"),
        (#""purpose":"investigation""#, #""purpose":"investigation","purpose":"investigation""#, "duplicate"),
        (#""uims":["#, #""uims":[42,"#, "identifiers"),
        (#""requester":"urn:fctc:party:KZ""#, #""requester":"urn:fctc:hub:gsp""#, "Party URN"),
        (#""agreement":"abab"#, #""agreement":"ABAB"#, "hex"),
        (#""caseReference":"CASE-7""#, #""caseReference":"""#, "caseReference"),
    ])
    func strictEnquiry(_ find: String, _ replace: String, _ reason: String) throws {
        let text = String(decoding: Self.enquiry().content, as: UTF8.self)
        #expect(text.contains(find))
        let bad = Array(text.replacingOccurrences(of: find, with: replace).utf8)
        #expect(throws: SyncError.self) { try Enquiry(content: bad) }
        do { _ = try Enquiry(content: bad) } catch {
            #expect(error.code == "enquiry.form")
            #expect(error.reason.lowercased().contains(reason.lowercased()), "\(error.reason)")
        }
    }

    @Test("UIM bounds: empty, too many, repeated, not a URI")
    func uimBounds() throws {
        for uims in [[], Array(repeating: TestEvents.pack1, count: 2), (0...Enquiry.maxUIMs).map { "urn:epc:id:sgtin:0614141.107346.\($0)" }, ["not a uim"]] {
            let e = Enquiry(enquiryID: Self.enquiry().enquiryID, requester: Self.kz, responder: Self.ua, agreement: Self.hash, uims: uims,
                            purpose: "investigation", caseReference: "C", sent: "2026-11-24T00:00:00.000Z")
            #expect(throws: SyncError.self) { try Enquiry(content: e.content) }
        }
        #expect(Enquiry.isPlausibleUIM(TestEvents.pack1))
        #expect(Enquiry.isPlausibleUIM("urn:epc:id:sgtin:0614141.107346.2017"))
        #expect(!Enquiry.isPlausibleUIM("S1"))
        #expect(!Enquiry.isPlausibleUIM("https://id.gs1.org/01/0 482"))
        #expect(!Enquiry.isPlausibleUIM(":nothing"))
    }

    @Test("An answer reads back; a refusal carries a code and a reason and no events")
    func answers() throws {
        let e = Self.enquiry()
        let event: JSONObject = try object(Array(#"{"type":"ObjectEvent","eventTime":"2026-03-03T01:00:00.000Z","eventTimeZoneOffset":"+02:00","epcList":["x:y"],"action":"ADD"}"#.utf8))
        let answered = EnquiryAnswer(enquiryID: e.enquiryID, responder: Self.ua, requester: Self.kz, agreement: Self.hash, flow: "ua-answers-kz",
                                     status: .answered, code: nil, reason: nil, answered: "2026-11-24T00:00:00.000Z",
                                     contexts: [.string("https://ref.gs1.org/standards/epcis/epcis-context.jsonld")],
                                     events: [AnswerEvent(hashID: "ni:///sha-256;" + Self.hash + "?ver=CBV2.0", declaresError: false, context: 0, event: event)])
        #expect(try EnquiryAnswer(content: answered.content) == answered)
        let refused = EnquiryAnswer.refusal(of: e, flow: nil, code: "enquiry.purpose", reason: "not allowed")
        #expect(try EnquiryAnswer(content: refused.content) == refused)
        // A refusal with events, an answer without a flow, a context index out of range: refused.
        let text = String(decoding: answered.content, as: UTF8.self)
        for bad in [text.replacingOccurrences(of: #""status":"answered""#, with: #""status":"refused""#),
                    text.replacingOccurrences(of: #""flow":"ua-answers-kz""#, with: #""flow":null"#),
                    text.replacingOccurrences(of: #""context":0"#, with: #""context":3"#),
                    text.replacingOccurrences(of: #""status":"answered""#, with: #""status":"maybe""#)] {
            #expect(bad != text)
            #expect(throws: SyncError.self) { try EnquiryAnswer(content: Array(bad.utf8)) }
        }
    }

    @Test("Sign, seal, open: the responder reads what the requester signed")
    func openEnquiry() throws {
        let e = Self.enquiry()
        let opened = try EnquiryCodec.openEnquiry(try Self.sealed(e.content), routing: Self.routing(e), us: Self.ua,
                                                  identity: try EnquiryPKI.shared.identity("UA"))
        #expect(opened.message == e)
        #expect(opened.digest == SHA256.hexHash(opened.signed))
        // The signed object verifies on its own against the root (evidence).
        let verified = try CMS.verify(opened.signed, trust: try EnquiryPKI.shared.identity("UA").trust, expectedSigner: Self.kz.urn)
        #expect(verified.content == e.content)
    }

    @Test("Opening refuses: another recipient, tampering, a foreign signer, a routing mismatch, another addressee")
    func openRefusals() throws {
        let e = Self.enquiry()
        let ua = try EnquiryPKI.shared.identity("UA")
        func code(_ body: () throws -> Void) -> String? {
            do { try body(); return nil } catch let error as SyncError { return error.code } catch { return "\(error)" }
        }
        // Sealed to DE: UA cannot open it.
        #expect(code { _ = try EnquiryCodec.openEnquiry(try Self.sealed(e.content, to: "DE"), routing: Self.routing(e), us: Self.ua, identity: ua) } == "enquiry.seal")
        // One byte of the ciphertext changed.
        var tampered = try Self.sealed(e.content)
        tampered[tampered.count - 40] ^= 0x01
        #expect(code { _ = try EnquiryCodec.openEnquiry(tampered, routing: Self.routing(e), us: Self.ua, identity: ua) } == "enquiry.seal")
        // Garbage.
        #expect(code { _ = try EnquiryCodec.openEnquiry(Array("hello".utf8), routing: Self.routing(e), us: Self.ua, identity: ua) } == "enquiry.seal")
        // Signed by DE but claiming to be from KZ.
        #expect(code { _ = try EnquiryCodec.openEnquiry(try Self.sealed(e.content, signer: "DE"), routing: Self.routing(e), us: Self.ua, identity: ua) } == "enquiry.signature")
        // The routing header names another agreement than the signed content.
        let other = EnquiryRouting(kind: .enquiry, messageID: e.enquiryID, origin: Self.kz.urn, recipient: Self.ua.urn, agreement: String(repeating: "cd", count: 32))
        #expect(code { _ = try EnquiryCodec.openEnquiry(try Self.sealed(e.content), routing: other, us: Self.ua, identity: ua) } == "enquiry.header-mismatch")
        // Addressed to DE (signed so), routed to UA consistently, opened by UA.
        let toDE = Self.enquiry(to: Self.de)
        let routed = EnquiryRouting(kind: .enquiry, messageID: toDE.enquiryID, origin: Self.kz.urn, recipient: Self.de.urn, agreement: Self.hash)
        #expect(code { _ = try EnquiryCodec.openEnquiry(try Self.sealed(toDE.content), routing: routed, us: Self.ua, identity: ua) } == "enquiry.responder")
        // Not an enquiry at all inside.
        #expect(code { _ = try EnquiryCodec.openEnquiry(try Self.sealed(Array("{}".utf8)), routing: Self.routing(e), us: Self.ua, identity: ua) } == "enquiry.form")
    }

    @Test("Routing headers: every field required and well-formed, the kind as expected")
    func routingHeaders() throws {
        let e = Self.enquiry()
        let good = Dictionary(uniqueKeysWithValues: Self.routing(e).fields)
        #expect(try EnquiryRouting(expected: .enquiry) { good[$0] } == Self.routing(e))
        for (name, value) in [("Fedtrace-Kind", "answer"), ("Fedtrace-Kind", nil), ("Fedtrace-Message-ID", "42"), ("Fedtrace-Origin", "KZ"),
                              ("Fedtrace-Recipients", "urn:fctc:party:UA urn:fctc:party:DE"), ("Fedtrace-Agreement", "xyz"),
                              ("Fedtrace-Agreement", String(repeating: "a", count: 300))] as [(String, String?)] {
            var fields = good
            fields[name] = value
            do {
                _ = try EnquiryRouting(expected: .enquiry) { fields[$0] }
                Issue.record("accepted \(name): \(value ?? "nil")")
            } catch {
                #expect(error.code == "enquiry.routing")
            }
        }
        #expect(EnquiryService.httpStatus(of: "enquiry.routing") == 400)
        #expect(EnquiryService.httpStatus(of: "enquiry.rate-limited") == 429)
        #expect(EnquiryService.httpStatus(of: "enquiry.signature") == 422)
    }
}
