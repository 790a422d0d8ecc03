import Testing
import Foundation
@testable import Net
import TestSupport

@Suite(.serialized) struct TLSTests {
    let pki = TestPKI.shared

    private func startServer(_ tls: TLSConfiguration? = nil) throws -> HTTPServer {
        try HTTPServer.start(configuration: .init(tls: tls ?? pki.serverTLS()), handler: echoHandler)
    }

    private func client(_ name: String?, port: Int, root: String = "root.pem") throws -> HTTPClient {
        try HTTPClient(configuration: .init(host: "127.0.0.1", port: port, tls: pki.clientTLS(name, root: root),
                                            requestTimeout: .seconds(5)))
    }

    @Test func mutualTLSGivesHandlersThePartyIdentity() throws {
        let server = try startServer()
        defer { server.shutdown() }
        var tls = pki.clientTLS("ua")
        tls.peerIdentity = { certificate in
            certificate.uris.contains("urn:fctc:party:KZ") ? .success("urn:fctc:party:KZ")
                : .failure(TLSError(code: "test.wrong_server", reason: "not KZ"))
        }
        let client = try HTTPClient(configuration: .init(host: "127.0.0.1", port: server.port, tls: tls))
        for _ in 0..<5 {
            let response = try client.send(HTTPRequest(method: .get, target: "/fed/v1/directory"))
            #expect(response.status == 200)
            #expect(response.headers["X-Peer"] == "urn:fctc:party:UA")
        }
        #expect(client.idleConnectionCount == 1)
        let pipelined = try client.send(pipelined: (0..<50).map { HTTPRequest(method: .get, target: "/p/\($0)") })
        #expect(pipelined.map(\.status) == Array(repeating: 200, count: 50))
    }

    @Test(arguments: [("no certificate", nil), ("foreign CA", "foreign"), ("expired", "expired"), ("revoked", "revoked")])
    func refusedClientCertificates(_ label: String, _ name: String?) throws {
        let server = try startServer()
        defer { server.shutdown() }
        let client = try client(name, port: server.port)
        #expect(throws: (any Error).self, "\(label)") { try client.send(HTTPRequest(method: .get, target: "/")) }
    }

    @Test func refusalReasonsComeFromOpenSSL() throws {
        let server = try startServer()
        defer { server.shutdown() }
        for (name, expected) in [("expired", "expired"), ("revoked", "revoked"), ("foreign", "unknown ca"), (nil, "certificate required")] {
            do {
                _ = try client(name, port: server.port).send(HTTPRequest(method: .get, target: "/"))
                Issue.record("\(name ?? "none") accepted")
            } catch let error as TLSError {
                #expect(error.reason.contains(expected), "\(name ?? "none"): \(error)")
            }
        }
    }

    @Test func identityHookCanRefuse() throws {
        // noparty.pem chains to the root but carries no urn:fctc: URI: the default hook refuses it.
        let server = try startServer()
        defer { server.shutdown() }
        #expect(throws: (any Error).self) { try client("noparty", port: server.port).send(HTTPRequest(method: .get, target: "/")) }
    }

    @Test func clientRefusesUntrustedServer() throws {
        let server = try startServer()
        defer { server.shutdown() }
        do {
            _ = try client("ua", port: server.port, root: "foreign-root.pem").send(HTTPRequest(method: .get, target: "/"))
            Issue.record("untrusted server accepted")
        } catch let error as TLSError {
            #expect(error.reason.contains("certificate verify failed"), "\(error)")
        }
    }

    @Test func badConfigurationFailsAtStart() {
        var tls = pki.serverTLS()
        tls.privateKeyFile = pki.path("ua.key")
        #expect(throws: TLSError.self) { try startServer(tls) }
        tls = pki.serverTLS()
        tls.crlFile = pki.path("missing.pem")
        #expect(throws: TLSError.self) { try startServer(tls) }
    }

    // MARK: Real clients

    private func curl(_ port: Int, _ name: String?, path: String = "/health", extra: [String] = []) throws -> (status: Int32, output: String) {
        var arguments = ["-sS", "--max-time", "5", "--cacert", pki.path("root.pem")]
        if let name { arguments += ["--cert", pki.path("\(name).pem"), "--key", pki.path("\(name).key")] }
        return try run("/usr/bin/curl", arguments + extra + ["https://127.0.0.1:\(port)\(path)"])
    }

    @Test func curlWithAndWithoutCertificates() throws {
        let server = try startServer()
        defer { server.shutdown() }
        let ok = try curl(server.port, "ua", extra: ["-i"])
        #expect(ok.status == 0, "\(ok.output)")
        #expect(ok.output.contains("HTTP/1.1 200"))
        #expect(ok.output.contains("X-Peer: urn:fctc:party:UA"))
        #expect(ok.output.contains("GET /health"))
        let missing = try curl(server.port, "ua", path: "/missing", extra: ["-i"])
        #expect(missing.output.contains("HTTP/1.1 404"))
        for name in [nil, "foreign", "expired", "revoked"] as [String?] {
            let refused = try curl(server.port, name)
            #expect(refused.status != 0, "\(name ?? "no certificate") accepted: \(refused.output)")
            #expect(!refused.output.contains("GET /health"))
        }
    }

    @Test func curlOversizedAndMalformed() throws {
        let server = try HTTPServer.start(configuration: .init(tls: pki.serverTLS(), limits: HTTPLimits(maxBodyBytes: 100)),
                                          handler: echoHandler)
        defer { server.shutdown() }
        let big = try curl(server.port, "ua", path: "/capture", extra: ["-i", "--data-binary", String(repeating: "x", count: 1000)])
        #expect(big.output.contains("HTTP/1.1 413"), "\(big.output)")
        let bad = try curl(server.port, "ua", extra: ["-i", "-H", "Bad Header: x"])
        #expect(bad.output.contains("HTTP/1.1 400"), "\(bad.output)")
    }

    @Test func openSSLClientRefusedBelowTLS13() throws {
        let server = try startServer()
        defer { server.shutdown() }
        let old = try run("/usr/bin/openssl", ["s_client", "-connect", "127.0.0.1:\(server.port)", "-tls1_2",
                                               "-cert", pki.path("ua.pem"), "-key", pki.path("ua.key")], stdin: "")
        #expect(old.status != 0)
        #expect(old.output.contains("protocol version"), "\(old.output)")
        let current = try run("/usr/bin/openssl", ["s_client", "-connect", "127.0.0.1:\(server.port)", "-tls1_3",
                                                   "-CAfile", pki.path("root.pem"),
                                                   "-cert", pki.path("ua.pem"), "-key", pki.path("ua.key")],
                              stdin: "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        #expect(current.output.contains("TLSv1.3"))
        #expect(current.output.contains("Verify return code: 0 (ok)"))
    }

    @Test func manyConcurrentTLSClients() throws {
        let server = try startServer()
        defer { server.shutdown() }
        let failures = Mutex(0)
        let client = try HTTPClient(configuration: .init(host: "127.0.0.1", port: server.port, tls: pki.clientTLS("ua"),
                                                         maxIdleConnections: 16))
        let start = ContinuousClock.now
        DispatchQueue.concurrentPerform(iterations: 16) { worker in
            for i in 0..<25 {
                let ok = (try? client.send(HTTPRequest(method: .post, target: "/w", body: Array("\(worker)-\(i)".utf8))))
                    .map { $0.body == Array("\(worker)-\(i)".utf8) } ?? false
                if !ok { failures.withLock { $0 += 1 } }
            }
        }
        print("400 TLS requests from 16 threads: \(ContinuousClock.now - start), pooled \(client.idleConnectionCount)")
        #expect(failures.withLock { $0 } == 0)
    }
}

import Synchronization
