import Foundation
import Crypto
import Generator
import Model
import Net
import Node
import Store

/// `fedtrace bench enquiry` (DESIGN §14): round trips of an enquiry about one pack, from UA
/// to KZ through the hub (owner from the directory, answered automatically with the pack's
/// full trace, signed, sealed, relayed both ways), timed from `send` until UA holds the
/// verified answer. Baseline: the p99 of a mutual-TLS keep-alive request to the hub on the
/// same loopback (`GET /fed/v1/whoami`), the floor of one exchange.
public enum EnquiryBenchmark {
    public static func run(enquiries: Int, workDirectory: URL, progress: (String) -> Void = { _ in }) throws -> [BenchmarkResult] {
        let kz = try PartyID(country: "KZ"), ua = try PartyID(country: "UA"), hub = try PartyID(hub: "gsp")
        let members = [hub, kz, ua]
        let pki = try BenchPKI(leaves: members.flatMap(BenchPKI.folderLeaves))
        defer { pki.remove() }
        var nodes: [PartyID: OpenNode] = [:]
        for member in members {
            let folder = workDirectory.appendingPathComponent("certs-\(member.code)").path
            try pki.installFolder(member, at: folder)
            let configuration = NodeConfiguration(party: member, role: member.kind == .hub ? .hub : .party,
                                                  apiListen: "127.0.0.1:0", federationListen: "127.0.0.1:0")
            nodes[member] = try NodeDirectory.initialize(at: workDirectory.appendingPathComponent("node-\(member.code)").path,
                                                         configuration: configuration, certificates: folder)
        }
        // A KZ–UA agreement: enquiries answered automatically for one UIM, relay via the hub.
        let draft = try AgreementService.draft(party: kz, with: [ua], id: "bench-enquiry")
        guard case .object(var document) = try JSONParser.parse(draft), case .array(var flows)? = document["flows"] else {
            throw NodeError(code: "bench.agreement", reason: "the drafted agreement has no flows")
        }
        flows.append(.object(["id": "kz-answers-ua", "from": .array([.string(kz.urn)]), "to": .array([.string(ua.urn)]), "action": "answerEnquiry",
                              "rowFilter": .object([:]), "fields": .array(["a", "b", "f", "g", "h", "j"].map(JSONValue.string)),
                              "duties": .object(["retentionDays": 30, "receipts": true])]))
        document["flows"] = .array(flows)
        document["relay"] = .object(["viaHub": .string(hub.urn)])
        document["enquiry"] = .object(["mode": "autoUpTo", "maxUIMs": 1, "answerWithinHours": 72])
        let agreementBytes = JSONWriter.serialize(.object(document))
        let signatures = try [kz, ua].map { try AgreementService(node: nodes[$0]!).sign(agreementBytes).signature }
        for party in [kz, ua] { _ = try AgreementService(node: nodes[party]!).importAgreement(agreementBytes, signatures: signatures) }
        let generator = try SupplyChainGenerator(SupplyChainConfiguration(seed: 3, manufacturer: kz, importer: ua, transit: nil, pallets: 1))
        try generator.forEachDocument(eventsPerDocument: 2000) { bytes in
            if let rejection = CaptureService(node: nodes[kz]!).capture(bytes: bytes, source: "bench").rejection {
                throw NodeError(code: "bench.capture", reason: rejection)
            }
        }
        let packs = generator.summary().samplePacks.map(\.pack)
        guard let pack = packs.first else { throw NodeError(code: "bench.enquiry", reason: "no sample pack") }

        var settings = SyncService.Settings()
        settings.tick = .milliseconds(20)
        settings.peerRefreshInterval = 0.02
        var servers: [NodeServer] = []
        defer { for server in servers.reversed() { server.shutdown(timeout: .seconds(5)) } }
        for member in members { servers.append(try NodeServer.start(node: nodes[member]!, syncSettings: settings)) }
        let hubEndpoint = "127.0.0.1:\(servers[0].federationPort ?? 0)"
        for party in [kz, ua] {
            try SyncStore(nodes[party]!.store).addPeer(party: hub.urn, endpoint: hubEndpoint, sealingCertificate: nil)
        }
        for (index, party) in [kz, ua].enumerated() {
            // Published endpoints let the hub notify a Party of new mail at once.
            _ = try DirectoryService(node: nodes[party]!).publish(endpoints: ["127.0.0.1:\(servers[index + 1].federationPort ?? 0)"],
                                                                  uimPatterns: party == kz ? ["https://id.gs1.org/01/0487"] : [], competentAuthorities: [])
        }
        let requester = try EnquiryService.shared(for: nodes[ua]!)
        // The bench sends more than the default flood limit (60 a minute per requester) on purpose.
        let responder = try EnquiryService.shared(for: nodes[kz]!)
        responder.settings.maxPerWindow = Int.max
        // Warm up (connections, caches), then measure.
        func roundTrip() throws -> Double {
            let started = DispatchTime.now()
            let record = try requester.send(uims: [pack], purpose: "illicit-trade-detection", caseReference: "bench", to: nil)
            while true {
                let status = try requester.find(record.enquiryID)?.status
                if status == "answered" { break }
                if status == "refused" { throw NodeError(code: "bench.enquiry", reason: "the enquiry was refused") }
                if Double(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e9 > 30 {
                    throw NodeError(code: "bench.enquiry", reason: "no answer within 30 s")
                }
                Thread.sleep(forTimeInterval: 0.0005)
            }
            return Double(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e6
        }
        progress("warming up")
        for _ in 0..<3 { _ = try roundTrip() }
        progress("\(enquiries) enquiries about one pack's full trace, UA → hub → KZ → hub → UA")
        var times: [Double] = []
        for _ in 0..<enquiries { times.append(try roundTrip()) }
        times.sort()

        // Baseline: one mutual-TLS keep-alive exchange with the hub.
        guard let certificates = try CertificateFolder.load(at: nodes[ua]!.directory.certificatesPath) else {
            throw NodeError(code: "bench.enquiry", reason: "UA has no certificate folder")
        }
        let client = try HTTPClient(configuration: .init(host: "127.0.0.1", port: servers[0].federationPort ?? 0,
                                                         tls: TLSConfiguration.client(trustRootsFile: certificates.root,
                                                                                      certificateChainFile: certificates.transportCertificate,
                                                                                      privateKeyFile: certificates.transportKey)))
        var base: [Double] = []
        for index in 0..<(enquiries * 4 + 20) {
            let started = DispatchTime.now()
            _ = try client.send(HTTPRequest(method: .get, target: "/fed/v1/whoami"))
            if index >= 20 { base.append(Double(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e6) }
        }
        base.sort()
        func percentile(_ sorted: [Double], _ p: Double) -> Double { sorted[min(sorted.count - 1, Int((Double(sorted.count) * p).rounded(.up)) - 1)] }
        let p50 = percentile(times, 0.50), p99 = percentile(times, 0.99)
        progress(String(format: "p50 %.1f ms, p99 %.1f ms (TLS exchange p50 %.2f ms, p99 %.2f ms)", p50, p99, percentile(base, 0.5), percentile(base, 0.99)))
        return [
            BenchmarkResult(scenario: "enquiry.p50", figure: p50, unit: "ms", baseline: percentile(base, 0.50),
                            baselineName: "mutual-TLS keep-alive request to the hub, p50", target: "(p99 ≤ 20 ms)", meetsTarget: p99 <= 20),
            BenchmarkResult(scenario: "enquiry.p99", figure: p99, unit: "ms", baseline: percentile(base, 0.99),
                            baselineName: "mutual-TLS keep-alive request to the hub, p99", target: "p99 ≤ 20 ms on loopback", meetsTarget: p99 <= 20),
        ]
    }
}
