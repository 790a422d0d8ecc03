import Foundation
import Testing
import Model
import Policy
import Net

extension FederationTests {
    /// UA is stopped (SIGTERM) while KZ captures 100,000 events; restarted, it catches up
    /// with no help: KZ's push worker finds it again and sends the backlog.
    @Suite struct OfflineCatchUp {
        @Test func receiverStoppedDuring100kCapturesCatchesUpAlone() throws {
            let cluster = try Cluster("catch-up", parties: ["KZ", "UA"])
            let kz = cluster["KZ"], ua = cluster["UA"]
            // Object and aggregation events (nearly all the generator writes), six elements.
            let agreement = try cluster.agreement(drafter: "KZ", with: ["UA"]) { document in
                document["flows"] = .array([
                    replicateFlow("kz-to-ua", from: ["KZ"], to: ["UA"], rowFilter: ["eventTypes": ["ObjectEvent", "AggregationEvent"]],
                                  fields: ["a", "b", "f", "g", "h", "j"]),
                ])
            }
            let stream = agreement.stream("kz-to-ua", origin: "KZ")
            let files = try cluster.generate("gen", events: 101_000, perDocument: 5000, from: "KZ", to: "UA", seed: 31)
            try cluster.startAll()
            // Wait until KZ has met UA once (sealing certificate fetched), then stop UA.
            let met = try waitUntil(timeout: 30) { try kz.sync().peers.first { $0["party"]?.stringValue == ua.urn }?["lastSeen"] != .null }
            #expect(met, "KZ never reached UA: \(kz.logText())")
            #expect(try ua.stop() == 0)

            let captureStart = ContinuousClock.now
            let captured = try kz.capture(files)
            let captureSeconds = seconds(since: captureStart)
            #expect(captured >= 100_000)
            print("catch-up: captured \(captured) events at KZ in \(String(format: "%.1f", captureSeconds)) s (\(Int(Double(captured) / captureSeconds)) events/s) while UA was stopped")

            // What the flow selects, counted in SQL from KZ's store (the filter is by event type only).
            let selected: [String] = try StoreView(kz).read { db in
                try db.prepare("SELECT hash_id FROM events WHERE origin = ? AND type IN ('ObjectEvent', 'AggregationEvent') ORDER BY id")
                    .bind([.text(kz.urn)]).rows { $0.text(0) ?? "" }
            }
            #expect(selected.count > captured * 9 / 10 && selected.count < captured, "\(selected.count) of \(captured) selected")
            // KZ cuts the backlog into deltas on its own while UA is away.
            let cut = try waitUntil(timeout: 180, interval: 0.5) { try StoreView(kz).cutSummary(stream).events == selected.count }
            if !cut { Issue.record("KZ did not cut the backlog in 180 s: \(try StoreView(kz).cutSummary(stream).events) of \(selected.count) events\n\(diagnostics(kz))") }
            let created = try StoreView(kz).lastSequence(stream)
            let before = try StoreView(kz).progress(stream, recipient: ua.urn)
            #expect((before?.acknowledged ?? 0) == 0, "nothing was acknowledged while UA was down")

            // Restart UA and only watch.
            let restarted = Date()
            let clock = ContinuousClock.now
            try ua.start()
            let listening = ContinuousClock.now
            var state = (position: Int64(0), acknowledged: Int64(0))
            // KZ's first attempt after UA's restart is its GET /fed/v1/streams: the first request UA's
            // federation listener answers (UA's /metrics counts it).
            var retried: Double?
            let metrics = try ua.apiClient()
            let caughtUp = try waitUntil(timeout: 300, interval: 0.25) {
                if retried == nil, let text = try? metrics.send(HTTPRequest(method: .get, target: "/metrics")).body,
                   String(decoding: text, as: UTF8.self).contains(#"listener="federation",route="/fed/v1/streams""#) {
                    retried = seconds(since: listening)
                }
                state = (try StoreView(ua).position(stream), try StoreView(kz).progress(stream, recipient: ua.urn)?.acknowledged ?? 0)
                return state.position >= created && state.acknowledged >= created
            }
            let catchUpSeconds = seconds(since: clock)
            if !caughtUp { Issue.record("UA at \(state.position), KZ acknowledged \(state.acknowledged) of \(created) after 300 s\n\(diagnostics(kz, ua))") }
            // Split the figure: waiting for KZ's next retry (its backoff grew while UA was away) and the transfer.
            let applied = try StoreView(ua).auditTimes("delta.apply").compactMap(parseInstant)
            if let first = applied.first, let last = applied.last {
                let waited = first.timeIntervalSince(restarted), transfer = last.timeIntervalSince(first)
                print("catch-up: UA caught up with \(selected.count) events in \(created) deltas \(String(format: "%.1f", catchUpSeconds)) s after its restart: KZ's next attempt came \(retried.map { String(format: "%.1f", $0) } ?? "?") s after UA listened (its retry backoff), the first delta was applied after \(String(format: "%.1f", waited)) s, transfer \(String(format: "%.1f", transfer)) s (\(Int(Double(selected.count) / max(transfer, 0.001))) events/s)")
            }

            // KZ's push worker retries at most SyncService.Settings.maxBackoff (30 s) after a failure.
            let retry = try #require(retried, "UA's /metrics never counted KZ's GET /fed/v1/streams")
            #expect(retry <= 30 + 2, "KZ's next attempt came \(retry) s after UA listened again; the retry delay is at most 30 s")

            // Exactly the selected events, each once, the deltas contiguous.
            let receiver = try StoreView(ua).receiverState(stream, origin: kz.urn)
            #expect(receiver.events == selected.count && receiver.distinctHashIDs == selected.count, "\(receiver.events) events at UA, \(selected.count) selected")
            #expect(receiver.deltas.map(\.sequence) == Array(1...created))
            let made = try StoreView(kz).outboxHashes(stream)
            #expect(receiver.deltas.map(\.deltaHash) == receiver.deltas.map { made[$0.sequence] ?? "" })
            #expect(Set(try StoreView(ua).hashIDs(origin: kz.urn)) == Set(selected))
            let inbound = try #require(try ua.sync().inbound.first { $0["stream"]?.stringValue == stream })
            #expect(inbound["received"]?.int == Int(created) && inbound["events"]?.int == selected.count)
            let outbound = try #require(try kz.sync().outbound.first { $0["stream"]?.stringValue == stream })
            #expect(outbound["acknowledged"]?.int == Int(created) && outbound["lagEvents"]?.int == 0, "\(outbound)")
            try cluster.stopAll()
            #expect(try kz.auditIntact() && ua.auditIntact())
        }
    }
}

/// An audit time (`2026-…T…Z`, milliseconds) as a date.
func parseInstant(_ text: String) -> Date? {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    return formatter.date(from: text)
}
