import Foundation
import Testing
import Net
import TestSupport
@testable import Node

/// Issue 5, "Bad input": what a hostile peer or a broken client can send gets a clean
/// refusal; the node keeps serving every other client and stores nothing from the bad request.
@Suite struct HostileInputTests {
    static let goodDocument = #"{"type":"EPCISDocument","schemaVersion":"2.0","creationDate":"2024-01-01T00:00:00Z","epcisBody":{"eventList":[{"type":"ObjectEvent","eventTime":"2024-01-01T10:00:00Z","eventTimeZoneOffset":"+05:00","action":"ADD","epcList":["https://id.gs1.org/01/04870001000011/21/GOOD"]}]}}"#

    static let hostile: [(String, [UInt8])] = [
        ("garbage bytes", Array("\u{16}\u{03}\u{01}\u{00}\u{05}garbage\r\n\r\n".utf8)),
        ("request smuggling: Content-Length and chunked", Array("POST /capture HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /status HTTP/1.1\r\nHost: a\r\n\r\n".utf8)),
        ("huge chunk size", Array("POST /capture HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFFFFF\r\n".utf8)),
        ("header injection (bare CR in a value)", Array("GET /health HTTP/1.1\r\nHost: a\r\nX-Evil: a\rSet-Cookie: b\r\n\r\n".utf8)),
        ("invalid UTF-8 in the path", [UInt8]("GET /trace/".utf8) + [0xFF, 0xFE] + [UInt8](" HTTP/1.1\r\nHost: a\r\n\r\n".utf8)),
        ("percent-encoded invalid UTF-8 in the path", Array("GET /trace/%FF%FE HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n".utf8)),
        ("path traversal", Array("GET /../../etc/passwd HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n".utf8)),
        ("encoded path traversal", Array("GET /events/..%2F..%2Fetc%2Fpasswd HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n".utf8)),
        ("oversized header section", Array(("GET /health HTTP/1.1\r\nHost: a\r\nX-Big: " + String(repeating: "a", count: 70_000) + "\r\n\r\n").utf8)),
    ]

    @Test func everyHostileRequestIsRefusedAndTheNodeKeepsServing() throws {
        let running = try RunningNode(try makeNode("hostile"))
        defer { running.stop() }
        for (name, bytes) in Self.hostile {
            let answer = try rawExchange(port: running.server.apiPort, bytes)
            let status = firstStatus(answer)
            #expect(status.map { (400..<500).contains($0) || $0 == 501 } ?? answer.isEmpty, "\(name): \(String(decoding: answer.prefix(120), as: UTF8.self))")
            #expect(!String(decoding: answer, as: UTF8.self).contains("root:"), "\(name) must not reach the file system")
            // Another client is still served, and nothing was stored.
            let health = try running.get("/health")
            #expect(health.status == 200, "after \(name)")
        }
        let status = try running.get("/status")
        #expect(status.jsonObject?["events"] == .number("0"), "no hostile request stored anything")
        #expect(try running.post("/capture", body: Array(Self.goodDocument.utf8), contentType: "application/json").status == 200)
    }

    @Test func plaintextOnTheFederationPortIsDropped() throws {
        let node = try makeNode("hostile-fed")
        try TestPKI.shared.install(into: node)
        let running = try RunningNode(node)
        defer { running.stop() }
        let answer = try rawExchange(port: running.server.federationPort!, Array("GET /fed/v1/whoami HTTP/1.1\r\nHost: a\r\n\r\n".utf8), timeout: 3)
        #expect(firstStatus(answer) == nil, "no HTTP is spoken before TLS")
        #expect(try running.get("/health").status == 200)
    }
}
