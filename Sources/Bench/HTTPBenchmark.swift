import Foundation
import Synchronization
import Crypto
import Generator
import Model
import Net
import Node

/// `fedtrace bench http` (DESIGN §14): `GET /health` and `POST /capture` of 1,000-event
/// documents against a real node's local API over TLS 1.3 with keep-alive from concurrent
/// clients, next to the same requests, on the same TLS stack and the same clients, against a
/// loopback server whose handler does nothing (the transport's own limit), as a ratio.
public enum HTTPBenchmark {
    public static func run(seconds: Double, clients: Int = 8, workDirectory: URL,
                           progress: (String) -> Void = { _ in }) throws -> [BenchmarkResult] {
        let pki = try BenchPKI(leaves: [
            ("server", "basicConstraints = critical, CA:FALSE\nkeyUsage = critical, digitalSignature\nextendedKeyUsage = serverAuth, clientAuth\nsubjectAltName = URI:urn:fctc:party:KZ, IP:127.0.0.1"),
            ("client", "basicConstraints = critical, CA:FALSE\nkeyUsage = critical, digitalSignature\nextendedKeyUsage = clientAuth\nsubjectAltName = URI:urn:fctc:operator:bench"),
        ])
        defer { pki.remove() }
        // A node whose local API runs mutual TLS on loopback (operator certificates from the same root).
        let nodePath = workDirectory.appendingPathComponent("node").path
        var configuration = NodeConfiguration(party: try PartyID(country: "KZ"), role: .party, apiListen: "127.0.0.1:0",
                                              federationListen: "127.0.0.1:0", apiClientCA: pki.path("root.pem"))
        configuration.maxDocumentBytes = 64 << 20
        let node = try NodeDirectory.initialize(at: nodePath, configuration: configuration)
        // The part of a certificate folder the local API's TLS reads: root and transport pair.
        let folder = node.directory.certificatesPath
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        for (from, to) in [("root.pem", "root.pem"), ("server.pem", "transport.pem"), ("server.key", "transport.key")] {
            try FileManager.default.copyItem(atPath: pki.path(from), toPath: folder + "/" + to)
        }
        chmod(folder + "/transport.key", 0o600)
        let server = try NodeServer.start(node: try NodeDirectory(path: nodePath).open())
        defer { server.shutdown(timeout: .seconds(5)) }

        var limits = HTTPLimits.default
        limits.maxBodyBytes = 64 << 20
        let baselineServer = try HTTPServer.start(
            configuration: .init(host: "127.0.0.1", port: 0,
                                 tls: .server(certificateChainFile: pki.path("server.pem"), privateKeyFile: pki.path("server.key"),
                                              trustRootsFile: pki.path("root.pem")),
                                 limits: limits),
            handler: { _, _ in HTTPResponse(status: 200, headers: ["Content-Type": "application/json"], body: Array(#"{"status":"ok"}"#.utf8)) })
        defer { baselineServer.shutdown(timeout: .seconds(5)) }

        let clientTLS = TLSConfiguration.client(trustRootsFile: pki.path("root.pem"), certificateChainFile: pki.path("client.pem"),
                                                privateKeyFile: pki.path("client.key"))
        let health = HTTPRequest(method: .get, target: "/health", headers: ["Host": "127.0.0.1"])
        let healthFigure = try load(port: server.apiPort, tls: clientTLS, clients: clients, seconds: seconds) { _ in health }
        let healthBaseline = try load(port: baselineServer.port, tls: clientTLS, clients: clients, seconds: seconds) { _ in health }
        progress("GET /health: node \(Int(healthFigure)) req/s, baseline \(Int(healthBaseline)) req/s")

        // Distinct 1,000-event documents, so every capture stores new events: 50 per second
        // of measurement, ten times what the node captured on the development VM. A node
        // that runs out stops early, which still gives its rate. The no-op baseline stores
        // nothing, so it may send the same bodies again and runs for the whole time.
        var documents: [[UInt8]] = []
        let corpusEvents = min(200_000, max(10_000, Int(seconds * 50_000)))
        let generator = try SupplyChainGenerator(SupplyChainConfiguration.configuration(approximateEvents: corpusEvents, seed: 11))
        generator.forEachDocument(eventsPerDocument: 1000) { documents.append($0) }
        let bodies = documents
        let capture: @Sendable (Int) -> HTTPRequest = { index in
            HTTPRequest(method: .post, target: "/capture", headers: ["Host": "127.0.0.1", "Content-Type": "application/ld+json"],
                        body: bodies[index % bodies.count])
        }
        let captureFigure = try load(port: server.apiPort, tls: clientTLS, clients: clients, seconds: seconds, maxRequests: bodies.count, capture)
        let captureBaseline = try load(port: baselineServer.port, tls: clientTLS, clients: clients, seconds: seconds, capture)
        progress("POST /capture (1,000 events): node \(String(format: "%.1f", captureFigure)) req/s, baseline \(String(format: "%.1f", captureBaseline)) req/s")

        let target = "within 2x of the loopback TLS baseline (ratio >= 0.5)"
        return [
            BenchmarkResult(scenario: "http.health", figure: healthFigure, unit: "requests/s", baseline: healthBaseline,
                            baselineName: "same clients, TLS 1.3 keep-alive, no-op handler", target: target,
                            meetsTarget: healthFigure >= healthBaseline / 2),
            BenchmarkResult(scenario: "http.capture-1000", figure: captureFigure, unit: "requests/s", baseline: captureBaseline,
                            baselineName: "same 1,000-event bodies to a no-op handler", target: target,
                            meetsTarget: captureFigure >= captureBaseline / 2),
        ]
    }

    /// Requests per second that `clients` threads, each with its own keep-alive connection,
    /// complete in `seconds` (or until `maxRequests` have been sent). Every answer must be 200.
    static func load(port: Int, tls: TLSConfiguration, clients: Int, seconds: Double, maxRequests: Int = .max,
                     _ request: @escaping @Sendable (Int) -> HTTPRequest) throws -> Double {
        let issued = Atomic<Int>(0)
        let completed = Atomic<Int>(0)
        let failure = Mutex<String?>(nil)
        let deadline = Date().addingTimeInterval(seconds)
        let started = Date()
        DispatchQueue.concurrentPerform(iterations: clients) { _ in
            do {
                let client = try HTTPClient(configuration: .init(host: "127.0.0.1", port: port, tls: tls))
                while Date() < deadline {
                    let index = issued.add(1, ordering: .relaxed).oldValue
                    guard index < maxRequests else { return }
                    let response = try client.send(request(index))
                    guard response.status == 200 else {
                        failure.withLock { $0 = $0 ?? "status \(response.status): \(String(decoding: response.body.prefix(200), as: UTF8.self))" }
                        return
                    }
                    completed.add(1, ordering: .relaxed)
                }
            } catch {
                failure.withLock { $0 = $0 ?? "\(error)" }
            }
        }
        if let failure = failure.withLock({ $0 }) {
            throw NodeError(code: "bench.http", reason: "a benchmark request failed: \(failure)")
        }
        return Double(completed.load(ordering: .relaxed)) / Date().timeIntervalSince(started)
    }
}
