import Foundation
import Dispatch
import Node
import Store

enum ServeCommand {
    static let command = Command(
        "serve", summary: "run the node: the local API (apiListen) and, with a certificate folder, the federation listener (federationListen, mutual TLS)",
        usage: "--data DIR [--shutdown-timeout SECONDS]",
        options: [
            dataOption,
            OptionSpec("shutdown-timeout", value: "SECONDS", help: "on SIGTERM/SIGINT, wait this long for in-flight requests (default 30)"),
        ]
    ) { arguments, output in
        let timeout = try arguments.integer("shutdown-timeout", default: 30, in: 1...3600)
        let node = try openNode(arguments)
        // Everything the node does is audited: without a way to seal records it would fail
        // each request; it does not start instead, and says what to do.
        switch try node.store.auditKeyState() {
        case .ready: break
        case .missing(let path):
            throw NodeError(code: "audit.key-missing", reason: "\(path) is missing: the audit log is sealed with it; restore it from the node's key backup before serving")
        case .unsealed:
            throw NodeError(code: "audit.unsealed", reason: "the audit log is not sealed yet (a store from before audit seals): run 'fedtrace audit seal --data DIR' once, then serve")
        }
        if let problem = try node.store.auditAnchorProblem() {
            throw NodeError(code: "audit.cut", reason: "\(problem): not serving; run 'fedtrace audit verify --data DIR' (and only after restoring a backup, 'fedtrace audit reanchor')")
        }
        // Take SIGTERM and SIGINT away from their default handlers before anything listens,
        // so a signal always means a graceful stop.
        signal(SIGTERM, SIG_IGN)
        signal(SIGINT, SIG_IGN)
        let stop = DispatchSemaphore(value: 0)
        let received = ReceivedSignal()
        let sources = [(SIGTERM, "SIGTERM"), (SIGINT, "SIGINT")].map { number, name in
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                if received.set(name) { stop.signal() }
            }
            source.resume()
            return source
        }
        let log: @Sendable (String) -> Void = { line in output.error("fedtrace serve: \(line)") }
        let server = try NodeServer.start(node: node, log: log)
        log("node \(node.configuration.party.urn) (\(node.configuration.role.rawValue)) serving from \(node.directory.path); SIGTERM or SIGINT stops it")
        stop.wait()
        log("\(received.name ?? "signal") received: no new connections; finishing in-flight requests (up to \(timeout) s)")
        server.shutdown(timeout: .seconds(timeout))
        for source in sources { source.cancel() }
        log("stopped")
        return 0
    }
}

/// The first stop signal's name; later signals are ignored (the stop is already under way).
final class ReceivedSignal: @unchecked Sendable {
    // @unchecked Sendable: `value` is only touched under `lock`.
    private let lock = NSLock()
    private var value: String?

    /// Records `name` if no signal came before; true the first time.
    func set(_ name: String) -> Bool {
        lock.withLock {
            guard value == nil else { return false }
            value = name
            return true
        }
    }

    var name: String? { lock.withLock { value } }
}
