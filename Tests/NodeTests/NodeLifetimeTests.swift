import Foundation
import TestSupport
import Testing
@testable import Node
import Store

/// A node server that has shut down lets go of its node: in a process that runs nodes
/// in-process (the demo, the benchmarks, the tests), nothing of a stopped node keeps its
/// store open or its threads running.
@Suite struct NodeLifetimeTests {
    let pki = TestPKI.shared

    /// Starts a server on each node `make` returns, shuts them down, and expects every
    /// node's store to be freed and none of its files left open.
    func expectReleased(_ make: () throws -> [OpenNode]) throws {
        final class Weak { weak var store: EventStore? }
        var released: [(Weak, String)] = []
        do {
            let nodes = try make()
            let servers = try nodes.map { try NodeServer.start(node: $0, syncSettings: RelayTests.settings) }
            for server in servers.reversed() { server.shutdown(timeout: .seconds(5)) }
            for node in nodes {
                let weak = Weak()
                weak.store = node.store
                released.append((weak, node.directory.path))
            }
        }
        // Worker threads may take a moment to finish once told to stop.
        let deadline = Date().addingTimeInterval(10)
        while released.contains(where: { $0.0.store != nil }) && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        for (weak, directory) in released {
            #expect(weak.store == nil, "\(directory): the store is still referenced after shutdown")
            #expect(openFiles(under: directory).isEmpty, "\(openFiles(under: directory))")
        }
    }

    @Test func aNodeWithoutCertificates() throws {
        try expectReleased { [try makeNode("lifetime")] }
    }

    @Test func aNodeWithOnlyItsTransportCertificate() throws {
        try expectReleased {
            let node = try makeNode("lifetime-transport")
            try pki.install(into: node)
            return [node]
        }
    }

    /// Parties with replication, enquiries and a hub: the workers and the per-directory
    /// enquiry service must all let go.
    @Test func aFederationWithAHub() throws {
        try expectReleased {
            let federation = try RelayTests.federation("lifetime-federation", enquiries: true)
            // Peers, so replication starts its per-peer and per-hub workers (the hub's
            // endpoint is a dead port: workers exist and retry, which is all this needs).
            let dead = "127.0.0.1:\(try RelayTests.deadPort())"
            try SyncStore(federation.kz.store).addPeer(party: RelayTests.hub.urn, endpoint: dead, sealingCertificate: nil)
            try SyncStore(federation.kz.store).addPeer(party: RelayTests.ua.urn, endpoint: dead, sealingCertificate: nil)
            try SyncStore(federation.ua.store).addPeer(party: RelayTests.hub.urn, endpoint: dead, sealingCertificate: nil)
            return [federation.hub, federation.kz, federation.ua]
        }
    }
}
