import Foundation
import TestSupport
import Testing
import Model
import Net
@testable import Node

@Suite struct NodeServerTests {
    let pki = TestPKI.shared

    func federationClient(_ server: NodeServer, certificate: String?) throws -> HTTPClient {
        var tls = pki.clientTLS(certificate)
        tls.peerIdentity = { certificate in
            certificate.uris.contains("urn:fctc:party:KZ") ? .success("urn:fctc:party:KZ")
                : .failure(NodeError(code: "test.wrong_server", reason: "not KZ"))
        }
        return try HTTPClient(configuration: .init(host: "127.0.0.1", port: try #require(server.federationPort), tls: tls,
                                                   connectTimeout: .seconds(5), requestTimeout: .seconds(5)))
    }

    @Test func withoutCertificatesOnlyTheLocalAPIRuns() throws {
        let running = try RunningNode(try makeNode("nocerts"))
        defer { running.stop() }
        #expect(running.server.federationPort == nil)
        #expect(running.server.listeners.map(\.name) == ["local API"])
        #expect(running.log.all.count == 2)
        #expect(running.log.all[0] == "local API listening on 127.0.0.1:\(running.server.apiPort) (plaintext, loopback only)")
        #expect(running.log.all[1].hasPrefix("federation listener off: no certificate folder"))
    }

    @Test func whoamiReturnsTheVerifiedPartyOfTheCaller() throws {
        let node = try makeNode("whoami")
        try pki.install(into: node)
        let running = try RunningNode(node)
        defer { running.stop() }
        #expect(running.log.all[1] == "federation listening on 127.0.0.1:\(running.server.federationPort!) (mutual TLS 1.3, federation root + CRL)")
        let client = try federationClient(running.server, certificate: "ua")
        let response = try client.send(HTTPRequest(method: .get, target: "/fed/v1/whoami"))
        #expect(response.status == 200)
        let object = try #require(response.jsonObject)
        #expect(object["peer"]?.stringValue == "urn:fctc:party:UA")
        #expect(object["node"]?.stringValue == "urn:fctc:party:KZ")
        #expect(object["peerCertificateSubject"]?.stringValue?.contains("ua") == true)
        // The federation listener routes only /fed/v1/: the local API is not reachable there.
        let local = try client.send(HTTPRequest(method: .get, target: "/events"))
        #expect(local.status == 404 && local.jsonObject?["code"]?.stringValue == "http.not_found")
        #expect(try client.send(HTTPRequest(method: .post, target: "/fed/v1/whoami")).status == 405)
        #expect(running.server.metrics.requestCount(listener: "federation", route: "/fed/v1/whoami", status: 200) == 1)
        // The local API still answers in plaintext on loopback.
        #expect(try running.get("/health").status == 200)
    }

    @Test(arguments: [("no certificate", nil as String?, "certificate required"), ("foreign CA", "foreign", "unknown ca"),
                      ("revoked", "revoked", "revoked"), ("no Party URI", "otherurn", "")])
    func federationRefusesCallersWithoutAFederationIdentity(_ label: String, _ certificate: String?, _ reason: String) throws {
        let node = try makeNode("fed-refuse")
        try pki.install(into: node)
        let running = try RunningNode(node)
        defer { running.stop() }
        let client = try federationClient(running.server, certificate: certificate)
        do {
            let response = try client.send(HTTPRequest(method: .get, target: "/fed/v1/whoami"))
            Issue.record("\(label): answered \(response.status)")
        } catch {
            if !reason.isEmpty { #expect("\(error)".contains(reason), "\(label): \(error)") }
        }
        #expect(running.server.metrics.requestCount(listener: "federation") == 0)
    }

    @Test func incompleteCertificateFolderOrOpenKeyIsRefused() throws {
        let node = try makeNode("badcerts")
        try pki.install(into: node)
        chmod(node.directory.certificatesPath + "/transport.key", 0o644)
        #expect(throws: NodeError.self) { try NodeServer.start(node: node) }
        do { _ = try NodeServer.start(node: node) } catch let error as NodeError { #expect(error.code == "secret.permissions") }
        try FileManager.default.removeItem(atPath: node.directory.certificatesPath + "/transport.key")
        do { _ = try NodeServer.start(node: node) } catch let error as NodeError { #expect(error.code == "certs.incomplete") }
    }

    @Test func bearerTokenFromAnOwnerOnlyFile() throws {
        let directory = try makeTemporaryDirectory("token")
        let tokenFile = directory.appendingPathComponent("api.token").path
        let token = "s3cret-token-\(UUID().uuidString)"
        #expect(FileManager.default.createFile(atPath: tokenFile, contents: Data((token + "\n").utf8), attributes: [.posixPermissions: 0o600]))
        let node = try makeNode("token") { $0.apiTokenFile = tokenFile }
        let log = LogLines()
        let server = try NodeServer.start(node: node, log: { log.append($0) })
        defer { server.shutdown(timeout: .seconds(5)) }
        #expect(log.all[0].hasSuffix("(plaintext, loopback only, bearer token required)"))
        #expect(!log.all.joined().contains(token))
        let client = try HTTPClient(configuration: .init(host: "127.0.0.1", port: server.apiPort))
        let anonymous = try client.send(HTTPRequest(method: .get, target: "/status"))
        #expect(anonymous.status == 401 && anonymous.jsonObject?["code"]?.stringValue == "auth.required")
        #expect(anonymous.headers["WWW-Authenticate"]?.hasPrefix("Bearer") == true)
        let wrong = try client.send(HTTPRequest(method: .get, target: "/status", headers: ["Authorization": "Bearer nope"]))
        #expect(wrong.status == 401 && wrong.jsonObject?["code"]?.stringValue == "auth.invalid_token")
        #expect(!wrong.text.contains("nope"))
        let right = try client.send(HTTPRequest(method: .get, target: "/status", headers: ["Authorization": "Bearer \(token)"]))
        #expect(right.status == 200)

        chmod(tokenFile, 0o640)
        do {
            _ = try NodeServer.start(node: node)
            Issue.record("a group-readable token file was accepted")
        } catch let error as NodeError {
            #expect(error.code == "secret.permissions")
        }
    }

    @Test func nonLoopbackLocalAPIUsesOperatorMutualTLS() throws {
        // 0.0.0.0 is not loopback: the configuration must name an operator CA or a token.
        #expect(throws: NodeError.self) {
            try NodeConfiguration(json: Array(#"{"party":"urn:fctc:party:KZ","role":"party","apiListen":"0.0.0.0:8443"}"#.utf8), file: "node.json")
        }
        let node = try makeNode("operator-mtls") {
            $0.apiListen = "0.0.0.0:0"
            $0.apiClientCA = "certs/root.pem"   // relative to the data directory; here the test root doubles as operator CA
        }
        try pki.install(into: node)
        let running = try NodeServer.start(node: node)
        defer { running.shutdown(timeout: .seconds(5)) }
        #expect(running.listeners[0].mode.hasPrefix("mutual TLS 1.3, operator CA"))
        func client(_ certificate: String?) throws -> HTTPClient {
            var tls = pki.clientTLS(certificate)
            tls.peerIdentity = { _ in .success("server") }
            return try HTTPClient(configuration: .init(host: "127.0.0.1", port: running.apiPort, tls: tls,
                                                       connectTimeout: .seconds(5), requestTimeout: .seconds(5)))
        }
        #expect(try client("ua").send(HTTPRequest(method: .get, target: "/health")).status == 200)
        #expect(throws: (any Error).self) { try client(nil).send(HTTPRequest(method: .get, target: "/health")) }
        #expect(throws: (any Error).self) { try client("foreign").send(HTTPRequest(method: .get, target: "/health")) }
        // Plaintext is not served there.
        let plain = try HTTPClient(configuration: .init(host: "127.0.0.1", port: running.apiPort, connectTimeout: .seconds(5), requestTimeout: .seconds(5)))
        #expect(throws: (any Error).self) { try plain.send(HTTPRequest(method: .get, target: "/health")) }
    }
}
