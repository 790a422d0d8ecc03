import Foundation
import Model
import Net

/// A Party's certificate folder (DESIGN §4): `root.pem`, optional `crl.pem`, and the
/// transport certificate and key the listeners present.
public struct CertificateFolder: Sendable, Equatable {
    public let path: String
    public let root: String
    public let crl: String?
    public let transportCertificate: String
    public let transportKey: String

    /// Loads the folder at `path`: nil when there is no folder; an error when it is there
    /// but incomplete, or when the key is readable by anyone but its owner.
    public static func load(at path: String) throws(NodeError) -> CertificateFolder? {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { return nil }
        guard isDirectory.boolValue else { throw NodeError(code: "certs.invalid", reason: "\(path) is not a directory") }
        for name in ["root.pem", "transport.pem", "transport.key"] where !FileManager.default.fileExists(atPath: path + "/" + name) {
            throw NodeError(code: "certs.incomplete", reason: "\(path) has no \(name); install the Party's certificate folder (root.pem, transport.pem, transport.key, crl.pem optional)")
        }
        try requireOwnerOnly(path + "/transport.key")
        let crl = path + "/crl.pem"
        return CertificateFolder(path: path, root: path + "/root.pem",
                                 crl: FileManager.default.fileExists(atPath: crl) ? crl : nil,
                                 transportCertificate: path + "/transport.pem", transportKey: path + "/transport.key")
    }
}

/// Refuses a secret file (key, token) that group or others may read or write (DESIGN §15:
/// keys are read from files with 0600 permissions).
public func requireOwnerOnly(_ path: String) throws(NodeError) {
    var info = stat()
    guard stat(path, &info) == 0 else {
        throw NodeError(code: "secret.unreadable", reason: "\(path): \(String(cString: strerror(errno)))")
    }
    guard (info.st_mode & S_IFMT) == S_IFREG else { throw NodeError(code: "secret.unreadable", reason: "\(path) is not a regular file") }
    guard info.st_mode & 0o077 == 0 else {
        throw NodeError(code: "secret.permissions",
                        reason: "\(path) is accessible to group or others (mode \(String(info.st_mode & 0o777, radix: 8))); run chmod 600 \(path)")
    }
}

/// The node's listeners (`fedtrace serve`): the local API on `apiListen` and, when the
/// certificate folder is installed, the federation listener on `federationListen` with
/// mutual TLS against the federation root (and CRL).
public final class NodeServer: Sendable {
    /// What one listener is doing, for the log and tests.
    public struct Listener: Sendable, Equatable, CustomStringConvertible {
        /// `local API` or `federation`.
        public let name: String
        public let host: String
        public let port: Int
        /// How clients are admitted, e.g. `plaintext, loopback only` or `mutual TLS 1.3 (federation root, CRL)`.
        public let mode: String

        public var description: String { "\(name) listening on \(host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host):\(port) (\(mode))" }
    }

    public let node: OpenNode
    public let metrics: MetricsRegistry
    public let localAPI: LocalAPI
    public let listeners: [Listener]
    let apiServer: HTTPServer
    let federationServer: HTTPServer?
    /// Replication (cutter, peer workers, retention), when the node has its certificate folder.
    public let sync: SyncService?
    /// The relay (mailboxes), on a hub.
    public let hub: HubService?

    /// The local API's bound port.
    public var apiPort: Int { apiServer.port }
    /// The federation listener's bound port, or nil when it is off (no certificate folder).
    public var federationPort: Int? { federationServer?.port }

    /// Starts the listeners and logs one line per listener (never secrets).
    public static func start(node: OpenNode, syncSettings: SyncService.Settings = .init(),
                             log: @escaping @Sendable (String) -> Void = { _ in }) throws -> NodeServer {
        let server = try NodeServer(node: node, syncSettings: syncSettings, log: log)
        server.sync?.start()
        server.hub?.start()
        if server.sync != nil { (try? EnquiryService.shared(for: node, log: log))?.start() }   // enquiry outbox, docs/hub.md §3
        return server
    }

    private init(node: OpenNode, syncSettings: SyncService.Settings, log: @escaping @Sendable (String) -> Void) throws {
        self.node = node
        let configuration = node.configuration
        let metrics = MetricsRegistry()
        self.metrics = metrics
        let certificates = try CertificateFolder.load(at: node.directory.certificatesPath)
        func resolve(_ path: String) -> String { path.hasPrefix("/") ? path : node.directory.path + "/" + path }

        // Local API.
        guard let apiAddress = ListenAddress(configuration.apiListen) else {
            throw NodeError(code: "config.invalid", reason: "apiListen '\(configuration.apiListen)' is not HOST:PORT")
        }
        var token: String?
        if let file = configuration.apiTokenFile.map(resolve) {
            try requireOwnerOnly(file)
            guard let data = FileManager.default.contents(atPath: file),
                  let text = String(data: data, encoding: .utf8)?.trimmingCharacters(in: .whitespacesAndNewlines),
                  text.count >= 16, !text.contains(where: { $0.isWhitespace }) else {
                throw NodeError(code: "config.token", reason: "\(file) must hold one bearer token of at least 16 characters")
            }
            token = text
        }
        var apiTLS: TLSConfiguration?
        var modes: [String] = []
        if configuration.apiClientCA != nil || !apiAddress.isLoopback {
            guard let certificates else {
                throw NodeError(code: "config.api_tls", reason: "the local API on \(configuration.apiListen) needs TLS, and TLS needs the node's certificate folder (\(node.directory.certificatesPath)/transport.pem, transport.key)")
            }
            if let clientCA = configuration.apiClientCA.map(resolve) {
                var tls = TLSConfiguration.server(certificateChainFile: certificates.transportCertificate, privateKeyFile: certificates.transportKey,
                                                  trustRootsFile: clientCA, requireClientCertificate: true)
                // Operator certificates name a person or system, not a Party: the first SAN URI, else the subject.
                tls.peerIdentity = { certificate in .success(certificate.uris.first ?? certificate.subject) }
                apiTLS = tls
                modes.append("mutual TLS 1.3, operator CA \(clientCA)")
            } else {
                apiTLS = TLSConfiguration.server(certificateChainFile: certificates.transportCertificate, privateKeyFile: certificates.transportKey,
                                                 trustRootsFile: nil, requireClientCertificate: false)
                modes.append("TLS 1.3")
            }
        } else {
            modes.append("plaintext, loopback only")
        }
        if token != nil { modes.append("bearer token required") }
        // Replication runs on a Party node with its certificate folder (the hub's relay is separate).
        // A folder with the transport pair only (no signing.pem) serves the listeners without replication.
        var sync: SyncService?
        var syncNote: String?
        if let certificates, configuration.role == .party {
            if FileManager.default.fileExists(atPath: certificates.path + "/signing.pem") {
                sync = try SyncService(node: node, settings: syncSettings, log: log)
            } else {
                syncNote = "replication off: \(certificates.path) has no signing.pem/sealing.pem (install the Party's full certificate folder)"
            }
        }
        self.sync = sync
        let hub = certificates != nil && configuration.role == .hub ? HubService(node: node, log: log) : nil
        self.hub = hub
        let localAPI = LocalAPI(node: node, metrics: metrics, bearerToken: token)
        self.localAPI = localAPI
        var limits = HTTPLimits.default
        limits.maxBodyBytes = configuration.maxDocumentBytes
        do {
            apiServer = try HTTPServer.start(
                configuration: .init(host: apiAddress.host, port: Int(apiAddress.port), tls: apiTLS, limits: limits),
                handler: { request, context in localAPI.handle(request, context) })
        } catch {
            throw NodeError(code: "serve.listen", reason: "local API: cannot listen on \(configuration.apiListen): \(error)")
        }
        var listeners = [Listener(name: "local API", host: apiAddress.host, port: apiServer.port, mode: modes.joined(separator: ", "))]
        log(listeners[0].description)

        // Federation listener: mutual TLS only, and only with a certificate folder.
        if let certificates {
            guard let fedAddress = ListenAddress(configuration.federationListen) else {
                apiServer.shutdown(timeout: .seconds(1))
                throw NodeError(code: "config.invalid", reason: "federationListen '\(configuration.federationListen)' is not HOST:PORT")
            }
            var tls = TLSConfiguration.server(certificateChainFile: certificates.transportCertificate, privateKeyFile: certificates.transportKey,
                                              trustRootsFile: certificates.root, crlFile: certificates.crl, requireClientCertificate: true)
            tls.peerIdentity = FederationAPI.partyIdentity
            let federationAPI = FederationAPI(node: node, metrics: metrics, sync: sync, hub: hub)
            do {
                federationServer = try HTTPServer.start(
                    configuration: .init(host: fedAddress.host, port: Int(fedAddress.port), tls: tls),
                    handler: { request, context in federationAPI.handle(request, context) })
            } catch {
                apiServer.shutdown(timeout: .seconds(1))
                throw NodeError(code: "serve.listen", reason: "federation: cannot listen on \(configuration.federationListen): \(error)")
            }
            let mode = "mutual TLS 1.3, federation root" + (certificates.crl != nil ? " + CRL" : ", no CRL installed")
            listeners.append(Listener(name: "federation", host: fedAddress.host, port: federationServer!.port, mode: mode))
            log(listeners[1].description)
        } else {
            federationServer = nil
            log("federation listener off: no certificate folder at \(node.directory.certificatesPath); serving the local API only")
        }
        self.listeners = listeners
        if let syncNote { log(syncNote) }
    }

    /// Stops accepting on every listener, lets in-flight requests finish (their commits are
    /// already durable), closes what is still open when `timeout` passed, waits for every
    /// handler still running (`HTTPServer.shutdown`); then stops the workers and the node's
    /// enquiry service.
    ///
    /// Listeners stop first, handlers included: a request handled after the enquiry
    /// service was released would make a new one (`EnquiryService.shared`) that nothing
    /// stops, and that kept the node's store open for the rest of the process.
    public func shutdown(timeout: Duration = .seconds(30)) {
        let group = DispatchGroup()
        for server in [apiServer] + (federationServer.map { [$0] } ?? []) {
            group.enter()
            DispatchQueue.global().async {
                server.shutdown(timeout: timeout)
                group.leave()
            }
        }
        group.wait()
        sync?.stop()
        hub?.stop()
        EnquiryService.release(node)
    }
}
