import Foundation
import Testing
import Model
import Net
#if canImport(Glibc)
import Glibc
#endif

/// One FedTrace node as the operator runs it: a data directory made by `fedtrace init`, and
/// `fedtrace serve` as a child process (the built binary, real signals). Its standard error
/// goes to `log` (appended across restarts). The federation port is chosen once (a free
/// loopback port) and kept across restarts, so peers never need telling; the local API
/// listens on an ephemeral port read back from the log.
final class NodeProcess: @unchecked Sendable {
    // @unchecked Sendable: the mutable state is only touched under `lock`.
    let code: String
    let urn: String
    /// The node's data directory.
    let data: String
    /// The certificate folder Certs/issue-party.sh made (keys included), for forging deltas.
    let certificates: String
    let log: String
    private let lock = NSLock()
    private var process: Process?
    private var _federationPort: Int
    private var _apiPort: Int?
    /// Called when the federation port had to change (it was taken): the cluster re-adds the peer elsewhere.
    var onPortChange: (@Sendable (NodeProcess) throws -> Void)?

    var federationPort: Int { lock.withLock { _federationPort } }
    var endpoint: String { "127.0.0.1:\(federationPort)" }
    var apiPort: Int? { lock.withLock { _apiPort } }
    var pid: Int32? { lock.withLock { process?.isRunning == true ? process?.processIdentifier : nil } }
    var isRunning: Bool { lock.withLock { process?.isRunning ?? false } }

    /// `hub`: a hub node (`init --role hub`, identity urn:fctc:hub:CODE) instead of a Party.
    init(code: String, data: String, certificates: String, log: String, hub: Bool = false) throws {
        self.code = code
        self.urn = hub ? "urn:fctc:hub:\(code)" : "urn:fctc:party:\(code)"
        self.data = data
        self.certificates = certificates
        self.log = log
        self._federationPort = try freeLoopbackPort()
        try fedtraceOK(["init", "--party", code, "--data", data, "--certs", certificates,
                        "--api-listen", "127.0.0.1:0", "--fed-listen", "127.0.0.1:\(_federationPort)"] + (hub ? ["--role", "hub"] : []))
        FileManager.default.createFile(atPath: log, contents: nil)
    }

    deinit {
        if let process, process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    /// Starts `fedtrace serve` and waits until both listeners are up. If the federation port
    /// was taken meanwhile, picks another, rewrites node.json, lets the peers know and retries.
    func start(timeout: TimeInterval = 30) throws {
        guard let executable = fedtraceExecutable else { throw CommandFailure(description: "build fedtrace first (swift build)") }
        for attempt in 1...5 {
            guard !isRunning else { throw CommandFailure(description: "\(code) is already running") }
            let offset = (try? FileManager.default.attributesOfItem(atPath: log)[.size] as? Int) ?? 0
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
            handle.seekToEndOfFile()
            let process = Process()
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = ["serve", "--data", data, "--shutdown-timeout", "20"]
            process.standardInput = FileHandle.nullDevice
            process.standardOutput = FileHandle.nullDevice
            process.standardError = handle
            try process.run()
            try handle.close()
            lock.withLock { self.process = process; _apiPort = nil }
            let deadline = Date().addingTimeInterval(timeout)
            while Date() < deadline {
                let text = logText(from: offset)
                if text.contains("federation listening on"), let line = text.split(separator: "\n").first(where: { $0.contains("local API listening on ") }),
                   let port = Int(line.split(separator: "listening on ").last?.split(separator: " ").first?.split(separator: ":").last ?? "") {
                    lock.withLock { _apiPort = port }
                    return
                }
                if !process.isRunning {
                    process.waitUntilExit()
                    if text.contains("cannot listen") && text.contains("federation") && attempt < 5 {
                        try movePort()
                        break
                    }
                    throw CommandFailure(description: "serve \(code) exited \(process.terminationStatus) at start: \(text)")
                }
                usleep(20_000)
            }
            if process.isRunning {
                if lock.withLock({ _apiPort }) == nil {
                    kill(process.processIdentifier, SIGKILL)
                    process.waitUntilExit()
                    throw CommandFailure(description: "serve \(code) did not start listening in \(timeout) s: \(logText(from: offset))")
                }
            }
        }
        throw CommandFailure(description: "serve \(code) could not find a free federation port")
    }

    /// The federation port was taken by someone else: pick another and tell the peers.
    private func movePort() throws {
        let port = try freeLoopbackPort()
        let path = data + "/node.json"
        guard let bytes = FileManager.default.contents(atPath: path), case .object(var config) = try JSONParser.parse(Array(bytes)) else {
            throw CommandFailure(description: "cannot read \(path)")
        }
        config["federationListen"] = .string("127.0.0.1:\(port)")
        try Data(JSONWriter.serialize(.object(config))).write(to: URL(fileURLWithPath: path))
        lock.withLock { _federationPort = port }
        try onPortChange?(self)
    }

    /// SIGTERM; waits for a clean exit (status 0) and returns it.
    @discardableResult
    func stop(timeout: TimeInterval = 40) throws -> Int32 {
        guard let process = lock.withLock({ self.process }), process.isRunning else { return 0 }
        kill(process.processIdentifier, SIGTERM)
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            throw CommandFailure(description: "serve \(code) did not stop on SIGTERM within \(timeout) s")
        }
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// kill -9: no chance to finish anything.
    func kill9() {
        guard let process = lock.withLock({ self.process }), process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// The log from byte `offset` on.
    func logText(from offset: Int = 0) -> String {
        guard let data = FileManager.default.contents(atPath: log), offset <= data.count else { return "" }
        return String(decoding: data[offset...], as: UTF8.self)
    }

    // MARK: - CLI against this node's data directory

    /// `fedtrace status --data DIR --json`.
    func status() throws -> JSONObject {
        let result = try fedtraceOK("status", "--data", data, "--json")
        guard let object = result.json?.objectValue else { throw CommandFailure(description: "status --json is not an object: \(result)") }
        return object
    }

    /// `fedtrace status --data DIR` (text).
    func statusText() throws -> String { try fedtraceOK("status", "--data", data).out }

    /// The sync part of the status.
    func sync() throws -> (outbound: [JSONObject], inbound: [JSONObject], peers: [JSONObject], rejected: [JSONObject]) {
        let sync = try status()["sync"]?.objectValue ?? [:]
        func list(_ key: String) -> [JSONObject] { (sync[key]?.arrayValue ?? []).compactMap(\.objectValue) }
        return (list("outbound"), list("inbound"), list("peers"), list("rejected"))
    }

    /// `fedtrace audit verify`: true when the chain is intact (exit 0 and `intact`).
    func auditIntact() throws -> Bool { try auditCheck().intact }

    /// `fedtrace audit verify --json`: whether it passed, and what it printed.
    func auditCheck() throws -> (intact: Bool, output: String) {
        let result = try fedtrace("audit", "verify", "--data", data, "--json")
        return (result.status == 0 && result.json?.objectValue?["intact"] == .bool(true), "\(result)")
    }

    /// Captures files with the CLI (the node may be running: the store takes concurrent writers).
    @discardableResult
    func capture(_ files: [String]) throws -> Int {
        let result = try fedtraceOK(["capture", "--data", data, "--json"] + files, timeout: 600)
        return result.json?.objectValue?["captured"]?.int ?? 0
    }

    /// A plaintext client for the local API (loopback).
    func apiClient() throws -> HTTPClient {
        guard let port = apiPort else { throw CommandFailure(description: "\(code) is not serving") }
        return try HTTPClient(configuration: .init(host: "127.0.0.1", port: port, requestTimeout: .seconds(30)))
    }

    /// A mutual-TLS client for this node's federation listener presenting `folder`'s transport
    /// certificate (another Party's, or a foreign one), trusting `root`.
    func federationClient(presenting folder: String, root: String? = nil) throws -> HTTPClient {
        let tls = TLSConfiguration.client(trustRootsFile: root ?? folder + "/root.pem", certificateChainFile: folder + "/transport.pem",
                                          privateKeyFile: folder + "/transport.key")
        var limits = HTTPLimits.default
        limits.maxBodyBytes = 64 << 20
        return try HTTPClient(configuration: .init(host: "127.0.0.1", port: federationPort, tls: tls, limits: limits,
                                                   connectTimeout: .seconds(5), requestTimeout: .seconds(60), maxIdleConnections: 4))
    }
}
