import Foundation
import TestSupport
import Testing
import Model
import Net
@testable import Node

/// The directory routes exist on every federation listener but only a hub serves them
/// (docs/hub.md §2); the hub's behaviour is tested end to end in CLITests/DirectoryCommandTests.
@Suite struct DirectoryRouteTests {
    @Test func aPartyNodeIsNotAHub() throws {
        let pki = TestPKI.shared
        let node = try makeNode("directory-not-hub")
        try pki.install(into: node)
        let running = try RunningNode(node)
        defer { running.stop() }
        var tls = pki.clientTLS("ua")
        tls.peerIdentity = { _ in .success("urn:fctc:party:KZ") }
        let client = try HTTPClient(configuration: .init(host: "127.0.0.1", port: try #require(running.server.federationPort), tls: tls,
                                                         connectTimeout: .seconds(5), requestTimeout: .seconds(5)))
        for request in [HTTPRequest(method: .get, target: "/fed/v1/directory"),
                        HTTPRequest(method: .post, target: "/fed/v1/directory", body: Array("entry".utf8))] {
            let response = try client.send(request)
            #expect(response.status == 404)
            #expect(response.jsonObject?["code"]?.stringValue == "directory.not-hub")
        }
        #expect(try client.send(HTTPRequest(method: .put, target: "/fed/v1/directory")).status == 405)
        #expect(try node.store.recentAudit(limit: 50).allSatisfy { !$0.action.hasPrefix("directory.") })
    }
}
