import Foundation
import Testing
import Crypto
import Model
import Policy
import Store
@testable import Sync

/// The delta's framing, routing header and stream names, and peer sealing certificates.
@Suite("Delta format")
struct DeltaFormatTests {
    static let hash = Agreements.bilateral.agreement.hash

    @Test("Stream names: origin URN / 64 lower-case hex / flow id, nothing else")
    func streamNames() {
        let name = StreamName(origin: Parties.kz, agreementHash: Self.hash, flow: "kz-to-ua-shipments")
        #expect(StreamName(name.description) == name)
        for bad in ["", "urn:fctc:party:KZ/\(Self.hash)", "urn:fctc:party:kz/\(Self.hash)/f", "KZ/\(Self.hash)/f",
                    "urn:fctc:party:KZ/\(Self.hash.uppercased())/f", "urn:fctc:party:KZ/\(Self.hash.dropLast())/f",
                    "urn:fctc:party:KZ/\(Self.hash)/", "urn:fctc:party:KZ/\(Self.hash)/a/b", "urn:fctc:party:KZ/\(Self.hash)/a b"] {
            #expect(StreamName(bad) == nil, "\(bad)")
        }
    }

    @Test("The routing header survives its HTTP fields; a missing, oversized or malformed one is delta.routing")
    func routingHeader() throws {
        let routing = DeltaRouting(deltaID: "urn:uuid:1", origin: Parties.kz.urn, recipients: [Parties.de.urn, Parties.ua.urn],
                                   stream: StreamName(origin: Parties.kz, agreementHash: Self.hash, flow: "f").description, sequence: 7)
        let fields = Dictionary(uniqueKeysWithValues: routing.fields)
        #expect(try DeltaRouting(lookup: { fields[$0] }) == routing)
        func parse(_ edit: (inout [String: String]) -> Void) -> String? {
            var f = fields
            edit(&f)
            do { _ = try DeltaRouting(lookup: { f[$0] }); return nil } catch { return error.code }
        }
        #expect(parse { $0["Fedtrace-Origin"] = nil } == "delta.routing")
        #expect(parse { $0["Fedtrace-Delta-ID"] = "" } == "delta.routing")
        #expect(parse { $0["Fedtrace-Recipients"] = String(repeating: "x", count: 1025) } == "delta.routing")
        #expect(parse { $0["Fedtrace-Sequence"] = "0" } == "delta.routing")
        #expect(parse { $0["Fedtrace-Sequence"] = "-1" } == "delta.routing")
        #expect(parse { $0["Fedtrace-Sequence"] = "1e3" } == "delta.routing")
        #expect(parse { $0["Fedtrace-Stream"] = "urn:fctc:party:KZ/x/f" } == "delta.routing")
        #expect(SyncError(code: "delta.routing", reason: "").httpStatus == 400)
        #expect(SyncError(code: "delta.gap", reason: "", expected: 1).httpStatus == 409)
        #expect(SyncError(code: "delta.chain", reason: "").httpStatus == 422)
    }

    @Test("Signed content is parsed strictly: fixed framing, known members only, a digest of the exact payload bytes")
    func contentFraming() throws {
        let event = try HandMade.inScope(1)
        let payload = DeltaContent.payload(events: [event], contexts: [try JSONParser.parse(Array(Events.context.utf8))])
        let header = DeltaHeader(deltaID: "urn:uuid:1", origin: Parties.kz, agreementID: "kz-ua-2026", agreementVersion: 1, agreementHash: Self.hash,
                                 flow: "kz-to-ua-shipments", sequence: 1, previousDeltaHash: SyncStore.zeroHash, recipients: [Parties.ua],
                                 created: "2026-11-24T00:00:00.000Z", eventCount: 1, payloadDigest: SHA256.hexHash(payload))
        let content = DeltaContent.content(header: header, payload: payload)
        let parsed = try DeltaContent.parse(content)
        #expect(parsed.header == header)
        #expect(parsed.payloadDigest == SHA256.hexHash(payload))
        #expect(parsed.events.map(\.hashID) == [event.hashID])
        #expect(parsed.events.first?.event == event.event)
        #expect(parsed.events.first?.context == 0)

        func code(_ bytes: [UInt8]) -> String? {
            do { _ = try DeltaContent.parse(bytes); return nil } catch { return error.code }
        }
        let text = String(decoding: content, as: UTF8.self)
        #expect(code(content + Array(" ".utf8)) == "delta.payload")
        #expect(code(Array(text.replacingOccurrences(of: #""payload":{"#, with: #""payload":{"extra":1,"#).utf8)) == "delta.payload")
        #expect(code(Array(text.replacingOccurrences(of: #""eventHashID":"#, with: #""note":1,"eventHashID":"#).utf8)) == "delta.payload")
        #expect(code(Array(text.replacingOccurrences(of: #""context":0"#, with: #""context":1"#).utf8)) == "delta.payload")
        #expect(code(Array(text.replacingOccurrences(of: #""sequence":1"#, with: #""sequence":0"#).utf8)) == "delta.payload")
        #expect(code(Array(text.replacingOccurrences(of: #""flow":"kz-to-ua-shipments""#, with: #""flow":"kz/ua""#).utf8)) == "delta.payload")
        #expect(code(Array(text.replacingOccurrences(of: #""deltaID":"urn:uuid:1""#, with: #""deltaID":"urn:uuid:1","deltaID":"urn:uuid:2""#).utf8)) == "delta.payload")
        #expect(code(Array(text.replacingOccurrences(of: #"{"header":"#, with: #"{"x":1,"header":"#).utf8)) == "delta.payload")
        #expect(code(Array("[]".utf8)) == "delta.payload")
    }

    @Test("A peer's sealing certificate must chain to our root, name the peer and be a sealing certificate")
    func peerSealingCertificate() throws {
        let kz = try SyncNode(Parties.kz, agreements: [Agreements.bilateral])
        let pki = SyncPKI.shared
        func read(_ path: String) throws -> [UInt8] { Array(try Data(contentsOf: URL(fileURLWithPath: path))) }
        let uaSealing = try read(pki.ua.directory + "/sealing.pem")
        #expect(try kz.engine.verifyPeerSealingCertificate(uaSealing, party: Parties.ua.urn) == pki.ua.sealingCertificate)
        #expect(try kz.engine.verifyPeerSealingCertificate(pki.ua.sealingCertificate.derBytes, party: Parties.ua.urn) == pki.ua.sealingCertificate)
        #expect(throws: SyncError.self) { try kz.engine.verifyPeerSealingCertificate(uaSealing, party: Parties.de.urn) }
        #expect(throws: (any Error).self) { try kz.engine.verifyPeerSealingCertificate(try read(pki.ua.directory + "/signing.pem"), party: Parties.ua.urn) }
        #expect(throws: (any Error).self) { try kz.engine.verifyPeerSealingCertificate(try read(pki.foreignKZ.directory + "/sealing.pem"), party: Parties.kz.urn) }
        #expect(throws: (any Error).self) { try kz.engine.verifyPeerSealingCertificate(Array("garbage".utf8), party: Parties.ua.urn) }
        // Sealing to a foreign certificate is refused at the origin too.
        try kz.capture([Events.commissioning(1)])
        let delta = try #require(try kz.cut().first)
        #expect(throws: (any Error).self) { try kz.engine.seal(delta, to: [pki.foreignKZ.sealingCertificate]) }
        #expect(throws: (any Error).self) { try kz.engine.seal(delta, to: [pki.ua.signingCertificate]) }
    }
}
