import Foundation
import Testing
import Model
@testable import Node

@Suite struct NodeConfigurationTests {
    func parse(_ text: String) throws(NodeError) -> NodeConfiguration {
        try NodeConfiguration(json: Array(text.utf8), file: "node.json")
    }

    func reason(_ text: String) -> String? {
        do {
            _ = try parse(text)
            return nil
        } catch {
            return error.reason
        }
    }

    @Test func roundTrips() throws {
        let configuration = NodeConfiguration(party: try PartyID(country: "KZ"), role: .party, apiListen: "127.0.0.1:1234")
        #expect(try NodeConfiguration(json: configuration.json, file: "x") == configuration)
    }

    @Test func localAPIAuthenticationSettings() throws {
        var configuration = NodeConfiguration(party: try PartyID(country: "KZ"), role: .party, apiListen: "0.0.0.0:8443")
        configuration.apiTokenFile = "api.token"
        configuration.apiClientCA = "/etc/fedtrace/operators.pem"
        #expect(try NodeConfiguration(json: configuration.json, file: "x") == configuration)
        #expect(reason(#"{"party":"urn:fctc:party:KZ","role":"party","apiListen":"10.0.0.1:8443"}"#)?.contains("not a loopback address") == true)
        #expect(reason(#"{"party":"urn:fctc:party:KZ","role":"party","apiListen":"10.0.0.1:8443","apiTokenFile":"t"}"#) == nil)
        #expect(reason(#"{"party":"urn:fctc:party:KZ","role":"party","apiTokenFile":""}"#)?.contains("must name a file") == true)
        #expect(reason(#"{"party":"urn:fctc:party:KZ","role":"party","apiClientCA":7}"#)?.contains("must be a string") == true)
    }

    @Test func refusesUnknownAndInvalidSettings() {
        #expect(reason(#"{"party":"urn:fctc:party:KZ","role":"party","colour":"red"}"#) == "node.json: unknown setting 'colour'")
        #expect(reason(#"{"role":"party"}"#) == "node.json: 'party' is required")
        #expect(reason(#"{"party":"urn:fctc:party:KZ","role":"boss"}"#)?.contains("'role' must be") == true)
        #expect(reason(#"{"party":"urn:fctc:party:KZZ","role":"party"}"#)?.contains("ISO 3166-1") == true)
        #expect(reason(#"{"party":"urn:fctc:hub:gsp","role":"party"}"#)?.contains("urn:fctc:party:XX") == true)
        #expect(reason(#"{"party":"urn:fctc:party:KZ","role":"party","apiListen":"nowhere"}"#)?.contains("HOST:PORT") == true)
        #expect(reason(#"{"party":"urn:fctc:party:KZ","role":"party","maxDocumentBytes":-1}"#)?.contains("positive") == true)
        #expect(reason(#"{"party":"urn:fctc:party:KZ","role":"party","party":"urn:fctc:party:UA"}"#)?.contains("duplicate key") == true)
    }

    @Test func initRefusesToOverwriteANode() throws {
        let path = NSTemporaryDirectory() + "fedtrace-node-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let configuration = NodeConfiguration(party: try PartyID(country: "UA"), role: .party)
        try NodeDirectory.initialize(at: path, configuration: configuration)
        #expect(throws: NodeError.self) { try NodeDirectory.initialize(at: path, configuration: configuration) }
        var info = stat()
        #expect(stat(path, &info) == 0 && info.st_mode & 0o777 == 0o700)
        #expect(stat(path + "/node.json", &info) == 0 && info.st_mode & 0o777 == 0o600)
        let node = try NodeDirectory(path: path).open()
        #expect(node.configuration == configuration)
        #expect(try node.store.verifyAudit().recordCount == 1)
    }

    @Test func openingSomethingThatIsNotANodeSaysSo() {
        #expect(throws: NodeError.self) { try NodeDirectory(path: "/nonexistent/fedtrace").open() }
    }
}
