import Foundation
import Testing
import Generator
import Crypto
import Model
import Policy
#if canImport(Glibc)
import Glibc
#endif

extension FederationTests {
    /// kill -9 of the sender or the receiver at random moments (seeded) while KZ keeps
    /// capturing: after every restart nothing acknowledged is lost, nothing is applied twice,
    /// both audit chains verify; at the end everything converges.
    @Suite struct KillNine {
        @Test func randomKillsLoseNothingAcknowledgedAndApplyNothingTwice() throws {
            let environment = ProcessInfo.processInfo.environment
            let seed = environment["FEDTRACE_CRASH_SEED"].flatMap(UInt64.init) ?? 20_261_124
            let iterations = environment["FEDTRACE_CRASH_ITERATIONS"].flatMap(Int.init) ?? 20
            var random = SplitMix64(seed: seed)
            print("kill -9: seed \(seed) (FEDTRACE_CRASH_SEED), \(iterations) iterations (FEDTRACE_CRASH_ITERATIONS)")

            let cluster = try Cluster("kill-9", parties: ["KZ", "UA"])
            let kz = cluster["KZ"], ua = cluster["UA"]
            let agreement = try cluster.agreement(drafter: "KZ", with: ["UA"]) { document in
                document["flows"] = .array([
                    replicateFlow("kz-to-ua", from: ["KZ"], to: ["UA"], rowFilter: ["eventTypes": ["ObjectEvent", "AggregationEvent"]], fields: ["a", "h", "j"]),
                ])
            }
            let stream = agreement.stream("kz-to-ua", origin: "KZ")
            let files = try cluster.generate("gen", events: 24_000, perDocument: 400, from: "KZ", to: "UA", seed: 41)
            let trust = try TrustStore(rootFile: cluster.root + "/root.pem")
            try cluster.startAll()

            // KZ captures document after document with the CLI, whatever happens to the nodes.
            let capture = CaptureLoop(node: kz, files: files, pause: 0.3)
            capture.start()
            defer { capture.stop() }

            var checker = Invariants(stream: stream, sender: kz, receiver: ua, trust: trust)
            var kills = ["KZ": 0, "UA": 0]
            var lastRestart = ContinuousClock.now
            for iteration in 1...iterations {
                Thread.sleep(forTimeInterval: Double.random(in: 0.2...1.5, using: &random))
                let victim = Bool.random(using: &random) ? kz : ua
                let pid = victim.pid
                victim.kill9()
                kills[victim.code, default: 0] += 1
                Thread.sleep(forTimeInterval: Double.random(in: 0...0.6, using: &random))
                try victim.start()
                lastRestart = ContinuousClock.now
                try checker.check("after kill \(iteration) of \(victim.code) (pid \(pid.map(String.init) ?? "-"))")
            }
            capture.stop()
            let captured = capture.captured
            print("kill -9: \(kills["KZ"]!) kills of KZ (sender), \(kills["UA"]!) of UA (receiver); KZ captured \(captured) events in \(capture.documents) documents meanwhile")
            #expect(kills["KZ"]! > 0 && kills["UA"]! > 0, "the seed killed only one side")
            #expect(capture.failures.isEmpty, "capture failed: \(capture.failures)")

            // Convergence: every selected event at UA, exactly once.
            let selected: [String] = try StoreView(kz).read { db in
                try db.prepare("SELECT hash_id FROM events WHERE origin = ? AND type IN ('ObjectEvent', 'AggregationEvent') ORDER BY id")
                    .bind([.text(kz.urn)]).rows { $0.text(0) ?? "" }
            }
            let last = try waitForConvergence(stream, from: kz, to: ua, events: selected.count, timeout: 180)
            print("kill -9: converged \(String(format: "%.1f", seconds(since: lastRestart))) s after the last restart: \(selected.count) events in \(last) deltas")
            try checker.check("at the end")
            #expect(Set(try StoreView(ua).hashIDs(origin: kz.urn)) == Set(selected))
            #expect(try StoreView(ua).count(origin: kz.urn) == selected.count)
            try cluster.stopAll()
            #expect(try kz.auditIntact() && ua.auditIntact())
        }
    }
}

/// Captures `files` at `node` one by one with the CLI on a background thread.
final class CaptureLoop: @unchecked Sendable {
    // @unchecked Sendable: the mutable state is only touched under `lock`.
    let node: NodeProcess
    let files: [String]
    let pause: TimeInterval
    private let lock = NSLock()
    private var stopped = false
    private var _captured = 0
    private var _documents = 0
    private var _failures: [String] = []
    private let done = DispatchSemaphore(value: 0)
    private var running = false

    init(node: NodeProcess, files: [String], pause: TimeInterval) {
        self.node = node
        self.files = files
        self.pause = pause
    }

    var captured: Int { lock.withLock { _captured } }
    var documents: Int { lock.withLock { _documents } }
    var failures: [String] { lock.withLock { _failures } }

    func start() {
        lock.withLock { running = true }
        Thread.detachNewThread { [self] in
            for file in files {
                if lock.withLock({ stopped }) { break }
                do {
                    let count = try node.capture([file])
                    lock.withLock { _captured += count; _documents += 1 }
                } catch {
                    lock.withLock { _failures.append("\(file): \(error)") }
                }
                Thread.sleep(forTimeInterval: pause)
            }
            done.signal()
        }
    }

    /// Stops after the document being captured; returns when the thread has finished.
    func stop() {
        let wasRunning = lock.withLock { () -> Bool in
            stopped = true
            defer { running = false }
            return running
        }
        if wasRunning { done.wait() }
    }
}

/// The crash-safety invariants of one stream, checked from both stores (read-only) and the CLI.
struct Invariants {
    let stream: String
    let sender: NodeProcess
    let receiver: NodeProcess
    let trust: TrustStore
    /// Hash IDs of each of the sender's deltas (deltas never change once made).
    var hashIDs: [Int64: [String]] = [:]
    var checks = 0

    init(stream: String, sender: NodeProcess, receiver: NodeProcess, trust: TrustStore) {
        self.stream = stream
        self.sender = sender
        self.receiver = receiver
        self.trust = trust
    }

    mutating func check(_ moment: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        checks += 1
        // The sender first: whatever it holds receipts for was committed at the receiver before.
        let acknowledged = try StoreView(sender).progress(stream, recipient: receiver.urn)?.acknowledged ?? 0
        let made = try StoreView(sender).outboxHashes(stream)
        let state = try StoreView(receiver).receiverState(stream, origin: sender.urn)
        let held = Set(try StoreView(receiver).hashIDs(origin: sender.urn))

        // Nothing applied twice: contiguous positions, each delta once, each event once.
        #expect(state.deltas.map(\.sequence) == Array(stride(from: Int64(1), through: state.position, by: 1)),
                "\(moment): applied deltas \(state.deltas.map(\.sequence)) are not 1…\(state.position)", sourceLocation: sourceLocation)
        #expect(state.events == state.distinctHashIDs, "\(moment): \(state.events - state.distinctHashIDs) events stored twice", sourceLocation: sourceLocation)
        #expect(state.events == state.deltas.reduce(0) { $0 + $1.events },
                "\(moment): \(state.events) events held, the applied deltas carried \(state.deltas.reduce(0) { $0 + $1.events })", sourceLocation: sourceLocation)
        #expect(state.stopped == nil, "\(moment): stream stopped: \(state.stopped ?? "")", sourceLocation: sourceLocation)
        let applies = state.applies
        #expect(applies.count == state.deltas.count && Set(applies.compactMap { $0["sequence"]?.int }).count == applies.count,
                "\(moment): \(applies.count) delta.apply records for \(state.deltas.count) deltas", sourceLocation: sourceLocation)
        #expect(applies.allSatisfy { $0["duplicates"]?.int == 0 }, "\(moment): a delta applied events already held", sourceLocation: sourceLocation)
        // The receiver applied the sender's deltas, not others.
        for delta in state.deltas where made[delta.sequence] != delta.deltaHash {
            Issue.record("\(moment): delta \(delta.sequence) at \(receiver.code) has hash \(delta.deltaHash.prefix(12)), \(sender.code) made \(made[delta.sequence]?.prefix(12) ?? "none")",
                         sourceLocation: sourceLocation)
        }
        // Nothing acknowledged is lost.
        #expect(state.position >= acknowledged, "\(moment): \(sender.code) holds a receipt for \(acknowledged), \(receiver.code) is at \(state.position)",
                sourceLocation: sourceLocation)
        let known = hashIDs.keys.max() ?? 0
        if acknowledged > known {
            for delta in try StoreView(sender).outbox(stream, after: known) where delta.sequence <= acknowledged {
                hashIDs[delta.sequence] = try deltaHashIDs(delta.signed, trust: trust, origin: sender.urn)
            }
        }
        var missing = 0
        for sequence in stride(from: Int64(1), through: acknowledged, by: 1) {
            guard let ids = hashIDs[sequence] else {
                Issue.record("\(moment): \(sender.code) acknowledged delta \(sequence) it does not hold", sourceLocation: sourceLocation)
                continue
            }
            missing += ids.filter { !held.contains($0) }.count
        }
        #expect(missing == 0, "\(moment): \(missing) events of acknowledged deltas are missing at \(receiver.code)", sourceLocation: sourceLocation)
        // Both audit chains verify.
        for node in [sender, receiver] {
            let audit = try node.auditCheck()
            #expect(audit.intact, "\(moment): audit verify at \(node.code): \(audit.output)", sourceLocation: sourceLocation)
        }
    }
}
