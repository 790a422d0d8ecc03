import Foundation
import Testing
import Generator
import Crypto
import Model
import Net
import Node
import Policy
@testable import Sync

extension FederationTests {
    /// Deltas no honest sender makes, sent over real mutual TLS to a running UA with KZ's
    /// transport certificate (and DE's, and a foreign root's): each refused with its problem
    /// code, recorded (`delta.reject` audit record, `status` refused line), nothing applied;
    /// one real delta sent 1,000 times applies once while DE keeps replicating to UA; and
    /// KZ's real stream carries on afterwards.
    @Suite struct HostileDeltas {
        @Test func refusedWithTheirCodesAndTheRealStreamCarriesOn() throws {
            let cluster = try Cluster("hostile", parties: ["KZ", "UA", "DE"])
            let kz = cluster["KZ"], ua = cluster["UA"], de = cluster["DE"]
            // A KZ certificate folder from another root: valid-looking, not of this federation.
            let foreignRoot = cluster.path("foreign-root"), foreignKZ = cluster.path("foreign-KZ")
            try certsScript("make-root.sh", ["--root", foreignRoot, "--name", "Not the federation"])
            try certsScript("issue-party.sh", ["KZ", foreignKZ, "--root", foreignRoot])

            let agreement = try cluster.agreement(drafter: "KZ", with: ["UA", "DE"]) { document in
                document["flows"] = .array([
                    replicateFlow("kz-to-ua", from: ["KZ"], to: ["UA"], rowFilter: ["eventTypes": ["ObjectEvent"], "bizSteps": ["commissioning", "shipping"]],
                                  fields: ["a", "g", "h", "j"]),
                    // Matches nothing the generator writes: a stream KZ opens but never fills, for the chain test.
                    replicateFlow("kz-spare-to-ua", from: ["KZ"], to: ["UA"], rowFilter: ["eventTypes": ["TransformationEvent"]], fields: ["h"]),
                    replicateFlow("de-to-ua", from: ["DE"], to: ["UA"], rowFilter: ["eventTypes": ["ObjectEvent", "AggregationEvent"]], fields: ["h"]),
                ])
            }
            let main = agreement.stream("kz-to-ua", origin: "KZ"), spare = agreement.stream("kz-spare-to-ua", origin: "KZ")
            let fromDE = agreement.stream("de-to-ua", origin: "DE")
            let first = try cluster.generate("gen-1", events: 2000, perDocument: 1000, from: "KZ", to: "UA", seed: 51)
            let second = try cluster.generate("gen-2", events: 1000, perDocument: 1000, from: "KZ", to: "UA", seed: 52)
            let third = try cluster.generate("gen-3", events: 1000, perDocument: 1000, from: "KZ", to: "UA", seed: 53)
            let deFiles = try cluster.generate("gen-de", events: 6000, perDocument: 250, from: "DE", to: "UA", seed: 54)
            try cluster.startAll()
            try kz.capture(first)
            let selected = { try expectedShare(of: try StoreView(kz).events(origin: kz.urn), origin: "KZ", recipient: "UA", agreement: agreement, flow: "kz-to-ua") }
            try waitForConvergence(main, from: kz, to: ua, events: try selected().count)

            // Identities and keys as files on disk: KZ's (the test holds its folder), DE's, the foreign KZ's.
            let kzKeys = try PartyCertificateFolder.load(from: kz.certificates, expectedParty: kz.urn)
            let deKeys = try PartyCertificateFolder.load(from: de.certificates, expectedParty: de.urn)
            let foreignKeys = try PartyCertificateFolder.load(from: foreignKZ, expectedParty: kz.urn)
            let uaSealing = try Certificate(contentsOf: ua.certificates + "/sealing.pem")
            let asKZ = try ua.federationClient(presenting: kz.certificates)
            let asDE = try ua.federationClient(presenting: de.certificates)
            let forge = Forger(agreement: agreement, sealTo: uaSealing, recipient: try PartyID(urn: ua.urn))
            let kzParty = try PartyID(urn: kz.urn)

            // UA's position on KZ's stream, as KZ sees it (GET /fed/v1/streams).
            let streams = try asKZ.send(HTTPRequest(method: .get, target: "/fed/v1/streams"))
            #expect(streams.status == 200)
            let positionItem = try #require(try JSONParser.parse(streams.body).arrayValue?.compactMap(\.objectValue).first { $0["stream"]?.stringValue == main })
            let position = Int64(try #require(positionItem["sequence"]?.int)), positionHash = try #require(positionItem["deltaHash"]?.stringValue)
            #expect(positionHash == (try StoreView(kz).outbox(main).last?.deltaHash))
            let heldBefore = try StoreView(ua).count(origin: kz.urn)

            // Events to put in forged deltas: an in-scope one as KZ would redact it, and one outside the row filter.
            let kzEvents = try StoreView(kz).events(origin: kz.urn)
            let flow = try #require(agreement.flows.first { $0.id == "kz-to-ua" })
            let inScope = try #require(kzEvents.first { $0.object["bizStep"]?.stringValue == "commissioning" })
            let outOfScope = try #require(kzEvents.first { $0.object["type"]?.stringValue == "AggregationEvent" })
            let good = [DeltaEvent(hashID: inScope.hashID, declaresError: false, context: nil, event: Redaction.redact(inScope.object, flow: flow).event)]
            let bad = [DeltaEvent(hashID: outOfScope.hashID, declaresError: false, context: nil, event: Redaction.redact(outOfScope.object, flow: flow).event)]
            let next = try forge.delta(signer: kzKeys, origin: kzParty, flow: "kz-to-ua", sequence: position + 1, previous: positionHash, events: good)

            var refusals = Refusals(receiver: ua, stream: main, origin: kz.urn, position: position, held: heldBefore)
            // 1. Sealed bytes tampered with (one byte of the ciphertext): the envelope does not open.
            var tampered = next.sealed
            tampered[tampered.count / 2] ^= 0x01
            try refusals.expect("tampered sealed bytes", try post(asKZ, tampered, next.routing), status: 422, code: "delta.seal")
            // 2. Signed content altered, then sealed properly: the signature does not verify.
            var alteredSigned = next.signed
            let flowName = Array(#""flow":"kz-to-ua""#.utf8)
            let at = try #require((0...(alteredSigned.count - flowName.count)).first { Array(alteredSigned[$0..<($0 + flowName.count)]) == flowName })
            alteredSigned[at + 8] = UInt8(ascii: "K")   // "kz-to-ua" → "Kz-to-ua" inside the signed header
            try refusals.expect("tampered signed content", try post(asKZ, try CMS.seal(alteredSigned, to: [uaSealing]), next.routing), status: 422, code: "delta.signature")
            // 3. Truncated.
            try refusals.expect("truncated", try post(asKZ, Array(next.sealed.prefix(next.sealed.count / 2)), next.routing), status: 422, code: "delta.seal")
            // 4. Signed by a KZ certificate of another root.
            let foreign = try forge.delta(signer: foreignKeys, origin: kzParty, flow: "kz-to-ua", sequence: position + 1, previous: positionHash, events: good)
            try refusals.expect("foreign-signed", try post(asKZ, foreign.sealed, foreign.routing), status: 422, code: "delta.signature")
            // 5. Signed by DE's real key, claiming KZ as origin.
            let wrongSigner = try forge.delta(signer: deKeys, origin: kzParty, flow: "kz-to-ua", sequence: position + 1, previous: positionHash, events: good)
            try refusals.expect("signed by another Party", try post(asKZ, wrongSigner.sealed, wrongSigner.routing), status: 422, code: "delta.signature")
            // 6. KZ's key, the right place in the chain, an event outside the flow's rows.
            let scope = try forge.delta(signer: kzKeys, origin: kzParty, flow: "kz-to-ua", sequence: position + 1, previous: positionHash, events: bad)
            try refusals.expect("out of scope", try post(asKZ, scope.sealed, scope.routing), status: 422, code: "delta.out-of-scope")
            // 7. Garbage bodies.
            var generator = SplitMix64(seed: 7)
            let noise = (0..<3000).map { _ in UInt8.random(in: 0...255, using: &generator) }
            try refusals.expect("random bytes", try post(asKZ, noise, next.routing), status: 422, code: "delta.seal")
            try refusals.expect("JSON body", try post(asKZ, Array(#"{"events":[]}"#.utf8), next.routing), status: 422, code: "delta.seal")
            try refusals.expect("empty body", try post(asKZ, [], next.routing), status: 422, code: "delta.seal")
            // 8. Routing headers that disagree with the signed header.
            let otherID = DeltaRouting(deltaID: "urn:uuid:\(UUID().uuidString.lowercased())", origin: next.routing.origin, recipients: next.routing.recipients,
                                       stream: next.routing.stream, sequence: next.routing.sequence)
            try refusals.expect("routing delta ID differs", try post(asKZ, next.sealed, otherID), status: 422, code: "delta.header-mismatch")
            let moreRecipients = DeltaRouting(deltaID: next.routing.deltaID, origin: next.routing.origin, recipients: next.routing.recipients + [de.urn],
                                              stream: next.routing.stream, sequence: next.routing.sequence)
            try refusals.expect("routing recipients differ", try post(asKZ, next.sealed, moreRecipients), status: 422, code: "delta.header-mismatch")
            // 9. DE's TLS identity sending a delta that claims KZ as its origin.
            try refusals.expect("TLS peer DE claiming origin KZ", try post(asDE, next.sealed, next.routing), status: 422, code: "delta.identity", peer: de.urn)
            // 10. An agreement UA does not hold.
            let unknownHash = SHA256.hexHash(Array("no such agreement".utf8))
            let unknown = try forge.delta(signer: kzKeys, origin: kzParty, flow: "kz-to-ua", sequence: 1, previous: SyncStoreZero.hash, events: good, agreementHash: unknownHash)
            try refusals.expect("agreement not held", try post(asKZ, unknown.sealed, unknown.routing), status: 422, code: "delta.agreement", stream: unknown.routing.stream)
            // 11. Missing routing headers: not a delta at all (400), still recorded and audited.
            try refusals.expect("no Fedtrace-Sequence", try post(asKZ, next.sealed, next.routing, drop: ["Fedtrace-Sequence"]), status: 400, code: "delta.routing",
                                stream: next.routing.stream)
            try refusals.expect("no routing headers", try post(asKZ, next.sealed, nil), status: 400, code: "delta.routing", stream: "-")
            // 12. Ahead of the position (reordered): 409 with the sequence expected; a gap is normal after a reconnect and is not recorded.
            let ahead = try forge.delta(signer: kzKeys, origin: kzParty, flow: "kz-to-ua", sequence: position + 2, previous: next.deltaHash, events: good)
            let gap = try post(asKZ, ahead.sealed, ahead.routing)
            try refusals.expect("sequence ahead", gap, status: 409, code: "delta.gap", recorded: false)
            #expect(problem(gap)?["expected"]?.int == Int(position + 1), "409 names the expected sequence: \(String(decoding: gap.body, as: UTF8.self))")
            // 13. A replay of an applied delta (KZ's real delta 1, sealed again): 200, the current receipt, nothing applied.
            let applied = try #require(try StoreView(kz).outbox(main).first)
            let replay = try post(asKZ, try CMS.seal(applied.signed, to: [uaSealing]),
                                  DeltaRouting(deltaID: applied.deltaID, origin: kz.urn, recipients: [ua.urn], stream: main, sequence: applied.sequence))
            #expect(replay.status == 200, "replay: \(replay.status) \(String(decoding: replay.body, as: UTF8.self))")
            #expect(replay.headers["Fedtrace-Position"] == String(position))
            let receipt = try Receipt.verify(replay.body, trust: try TrustStore(rootFile: cluster.root + "/root.pem"), expectedReceiver: ua.urn)
            #expect(receipt.stream == main && receipt.sequence == position && receipt.deltaHash == positionHash)
            try refusals.expectNothingChanged("replay")
            // 14. A broken hash chain stops the stream it names (here the spare one, which KZ never fills).
            let broken = try forge.delta(signer: kzKeys, origin: kzParty, flow: "kz-spare-to-ua", sequence: 1, previous: SHA256.hexHash(Array("not the chain".utf8)), events: [])
            try refusals.expect("broken chain", try post(asKZ, broken.sealed, broken.routing), status: 422, code: "delta.chain", stream: spare)
            let afterStop = try forge.delta(signer: kzKeys, origin: kzParty, flow: "kz-spare-to-ua", sequence: 1, previous: SyncStoreZero.hash, events: [])
            try refusals.expect("stopped stream", try post(asKZ, afterStop.sealed, afterStop.routing), status: 422, code: "delta.stopped", stream: spare)
            let stoppedLine = try ua.statusText().split(separator: "\n").first { $0.contains(spare) }
            #expect(stoppedLine?.contains("STOPPED") == true, "\(stoppedLine ?? "no line for the spare stream")")
            #expect(try ua.sync().inbound.first { $0["stream"]?.stringValue == spare }?["stopped"] != .null)
            #expect(try StoreView(ua).position(main) == position, "the hostile deltas moved UA's position")

            // The same real delta 1,000 times, from 8 connections at once: applied once. KZ is
            // stopped so its own worker does not deliver it first; the delta is cut by KZ's own
            // code (SyncService.cutNow) on KZ's store.
            #expect(try kz.stop() == 0)
            try kz.capture(second)
            let cutDelta: OutboxDeltaView = try {
                let node = try NodeDirectory(path: kz.data).open()
                let service = try SyncService(node: node)
                try service.cutNow(flush: true)
                let made = try StoreView(kz).outbox(main, after: position)
                let first = try #require(made.first, "KZ cut no delta from the second capture")
                return OutboxDeltaView(row: first, later: made.count - 1)
            }()
            let sealedOnce = try CMS.seal(cutDelta.row.signed, to: [uaSealing])
            let routing = DeltaRouting(deltaID: cutDelta.row.deltaID, origin: kz.urn, recipients: [ua.urn], stream: main, sequence: cutDelta.row.sequence)
            #expect(cutDelta.row.sequence == position + 1)
            // DE keeps capturing and replicating to UA meanwhile.
            let deCapture = CaptureLoop(node: de, files: deFiles, pause: 0.05)
            deCapture.start()
            defer { deCapture.stop() }
            #expect(try waitUntil(timeout: 60) { try StoreView(ua).position(fromDE) > 0 }, "DE never reached UA: \(diagnostics(de, ua))")
            let floodStart = Date()
            let clock = ContinuousClock.now
            let results = Results()
            DispatchQueue.concurrentPerform(iterations: 8) { worker in
                do {
                    let client = try ua.federationClient(presenting: kz.certificates)
                    var request = HTTPRequest(method: .post, target: "/fed/v1/deltas", headers: ["Content-Type": "application/pkcs7-mime"], body: sealedOnce)
                    for (name, value) in routing.fields { request.headers.add(name: name, value: value) }
                    for _ in 0..<5 {
                        let responses = try client.send(pipelined: Array(repeating: request, count: 25))
                        results.add(responses.map { ($0.status, $0.headers["Fedtrace-Position"]) })
                    }
                } catch {
                    results.fail("connection \(worker): \(error)")
                }
            }
            let floodSeconds = seconds(since: clock)
            let floodEnd = Date()
            deCapture.stop()
            #expect(results.failures.isEmpty, "\(results.failures)")
            #expect(results.all.count == 1000)
            #expect(results.all.allSatisfy { $0.0 == 200 && $0.1 == String(position + 1) },
                    "statuses \(Dictionary(grouping: results.all, by: { "\($0.0) \($0.1 ?? "-")" }).mapValues(\.count))")
            let state = try StoreView(ua).receiverState(main, origin: kz.urn)
            #expect(state.deltas.filter { $0.sequence == position + 1 }.count == 1 && state.position == position + 1)
            #expect(state.applies.filter { $0["sequence"]?.int == Int(position + 1) }.count == 1, "delta \(position + 1) applied more than once")
            #expect(state.events == heldBefore + cutDelta.row.eventCount && state.events == state.distinctHashIDs)
            try refusals.expectNothingChanged("1,000 sends", position: position + 1, held: heldBefore + cutDelta.row.eventCount)
            // DE's deltas were applied while the flood ran.
            let deDuring = try StoreView(ua).applyTimes(fromDE).compactMap { parseInstant($0.at) }.filter { $0 >= floodStart && $0 <= floodEnd }
            print("hostile: 1,000 sends of one delta over 8 mutual-TLS connections in \(String(format: "%.1f", floodSeconds)) s (\(Int(1000 / floodSeconds))/s), applied once; \(deDuring.count) DE deltas applied at UA meanwhile")
            #expect(!deDuring.isEmpty, "UA applied none of DE's deltas during the flood")

            // KZ back: its worker learns UA's position, and the real stream carries on.
            try kz.start()
            try kz.capture(third)
            let expected = try selected()
            try waitForConvergence(main, from: kz, to: ua, events: expected.count)
            try expectExactly(expected, at: ua, from: kz)
            let deExpected = try expectedShare(of: try StoreView(de).events(origin: de.urn), origin: "DE", recipient: "UA", agreement: agreement, flow: "de-to-ua")
            try waitForConvergence(fromDE, from: de, to: ua, events: deExpected.count)
            try expectExactly(deExpected, at: ua, from: de)
            let kzOut = try #require(try kz.sync().outbound.first { $0["stream"]?.stringValue == main })
            #expect(kzOut["lastError"] == .null && kzOut["lagEvents"]?.int == 0, "\(kzOut)")
            // Everything refused is on record at UA.
            let codes = Set(try StoreView(ua).rejections().map(\.code))
            #expect(codes == ["delta.seal", "delta.signature", "delta.out-of-scope", "delta.header-mismatch", "delta.identity", "delta.agreement", "delta.chain", "delta.stopped", "delta.routing"],
                    "\(codes.sorted())")
            #expect(try StoreView(ua).audit("delta.reject").count == refusals.recorded)
            try cluster.stopAll()
            for node in [kz, ua, de] { #expect(try node.auditIntact(), "audit at \(node.code)") }
        }
    }
}

enum SyncStoreZero {
    static let hash = String(repeating: "0", count: 64)
}

struct OutboxDeltaView {
    let row: StoreView.OutboxRow
    let later: Int
}

/// Responses collected from several threads.
final class Results: @unchecked Sendable {
    // @unchecked Sendable: the arrays are only touched under `lock`.
    private let lock = NSLock()
    private var responses: [(Int, String?)] = []
    private var errors: [String] = []
    func add(_ items: [(Int, String?)]) { lock.withLock { responses += items } }
    func fail(_ message: String) { lock.withLock { errors.append(message) } }
    var all: [(Int, String?)] { lock.withLock { responses } }
    var failures: [String] { lock.withLock { errors } }
}

/// Builds deltas the way SyncEngine does (header, JCS-framed content, CMS signature, sealed
/// to UA), with whatever signer, origin, place in the chain and events a test wants.
struct Forger {
    let agreement: Agreement
    let sealTo: Certificate
    let recipient: PartyID

    struct Forged {
        let signed: [UInt8]
        let sealed: [UInt8]
        let routing: DeltaRouting
        let deltaHash: String
    }

    func delta(signer: PartyCertificateFolder, origin: PartyID, flow: String, sequence: Int64, previous: String, events: [DeltaEvent],
               agreementHash: String? = nil) throws -> Forged {
        let hash = agreementHash ?? agreement.hash
        let payload = DeltaContent.payload(events: events, contexts: [])
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let header = DeltaHeader(deltaID: "urn:uuid:\(UUID().uuidString.lowercased())", origin: origin, agreementID: agreement.id,
                                 agreementVersion: agreement.version, agreementHash: hash, flow: flow, sequence: sequence, previousDeltaHash: previous,
                                 recipients: [recipient], created: formatter.string(from: Date()), eventCount: events.count,
                                 payloadDigest: SHA256.hexHash(payload))
        let signed = try CMS.sign(DeltaContent.content(header: header, payload: payload), signer: signer.signingCertificate, key: signer.signingKey)
        let routing = DeltaRouting(deltaID: header.deltaID, origin: origin.urn, recipients: [recipient.urn], stream: header.stream.description, sequence: sequence)
        return Forged(signed: signed, sealed: try CMS.seal(signed, to: [sealTo]), routing: routing, deltaHash: SHA256.hexHash(signed))
    }
}

/// POST /fed/v1/deltas with `body` and the routing headers (nil: none; `drop`: leave some out).
func post(_ client: HTTPClient, _ body: [UInt8], _ routing: DeltaRouting?, drop: Set<String> = []) throws -> HTTPResponse {
    var headers: HTTPHeaders = ["Content-Type": "application/pkcs7-mime"]
    for (name, value) in routing?.fields ?? [] where !drop.contains(name) { headers.add(name: name, value: value) }
    return try client.send(HTTPRequest(method: .post, target: "/fed/v1/deltas", headers: headers, body: body))
}

/// The problem document of a refusal.
func problem(_ response: HTTPResponse) -> JSONObject? { (try? JSONParser.parse(response.body))?.objectValue }

/// Checks each refusal at the receiver: the status and problem code, one new `delta.reject`
/// audit record and rejection (shown by `status`) when it is recorded, and nothing applied.
struct Refusals {
    let receiver: NodeProcess
    let stream: String
    let origin: String
    var position: Int64
    var held: Int
    /// `delta.reject` audit records expected so far.
    var recorded = 0

    init(receiver: NodeProcess, stream: String, origin: String, position: Int64, held: Int) {
        self.receiver = receiver
        self.stream = stream
        self.origin = origin
        self.position = position
        self.held = held
    }

    mutating func expect(_ name: String, _ response: HTTPResponse, status: Int, code: String, recorded isRecorded: Bool = true,
                         peer: String? = nil, stream recordedStream: String? = nil, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let body = String(decoding: response.body.prefix(600), as: UTF8.self)
        #expect(response.status == status, "\(name): status \(response.status), expected \(status): \(body)", sourceLocation: sourceLocation)
        #expect(problem(response)?["code"]?.stringValue == code, "\(name): expected problem \(code): \(body)", sourceLocation: sourceLocation)
        let rejects = try StoreView(receiver).audit("delta.reject")
        if isRecorded {
            recorded += 1
            let newest = try StoreView(receiver).rejections().first
            #expect(newest?.code == code && newest?.peer == (peer ?? origin) && newest?.stream == (recordedStream ?? stream),
                    "\(name): newest rejection \(String(describing: newest))", sourceLocation: sourceLocation)
            #expect(rejects.last?["code"]?.stringValue == code, "\(name): newest delta.reject audit record \(rejects.last ?? [:])", sourceLocation: sourceLocation)
            let shown = try receiver.sync().rejected.first
            #expect(shown?["code"]?.stringValue == code, "\(name): status --json rejected \(shown ?? [:])", sourceLocation: sourceLocation)
            let line = try receiver.statusText().split(separator: "\n").first { $0.hasPrefix("refused") }
            #expect(line?.contains(": \(code): ") == true, "\(name): status refused line \(line ?? "none")", sourceLocation: sourceLocation)
        }
        #expect(rejects.count == recorded, "\(name): \(rejects.count) delta.reject audit records, expected \(recorded)", sourceLocation: sourceLocation)
        try expectNothingChanged(name, sourceLocation: sourceLocation)
    }

    /// The receiver's position and events from the origin are as they were (or as given).
    mutating func expectNothingChanged(_ name: String, position newPosition: Int64? = nil, held newHeld: Int? = nil,
                                       sourceLocation: SourceLocation = #_sourceLocation) throws {
        if let newPosition { position = newPosition }
        if let newHeld { held = newHeld }
        let state = try StoreView(receiver).receiverState(stream, origin: origin)
        #expect(state.position == position && state.events == held, "\(name): position \(state.position) (was \(position)), \(state.events) events (were \(held))",
                sourceLocation: sourceLocation)
        #expect(try StoreView(receiver).audit("delta.reject").count == recorded, "\(name): delta.reject records", sourceLocation: sourceLocation)
    }
}
