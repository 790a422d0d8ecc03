import Foundation
import Synchronization
import Model
import Net
@testable import Node

/// The repository root (this file is Tests/NodeTests/NodeTestSupport.swift).
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// The GS1 EPCIS 2.0 examples beside the repository (`../shared/testdata/epcis-gs1`).
let gs1ExampleFiles: [URL] = {
    let folder = repositoryRoot.deletingLastPathComponent().appendingPathComponent("shared/testdata/epcis-gs1")
    let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
    return names.filter { $0.hasSuffix(".jsonld") }.sorted().map { folder.appendingPathComponent($0) }
}()

/// A fresh temp directory for one test.
func makeTemporaryDirectory(_ label: String) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("fedtrace-node-\(label)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// A new node in a fresh temp directory (listeners on loopback, port 0).
func makeNode(_ label: String, party: String = "KZ", configure: (inout NodeConfiguration) -> Void = { _ in }) throws -> OpenNode {
    var configuration = NodeConfiguration(party: try PartyID(country: party), role: .party,
                                          apiListen: "127.0.0.1:0", federationListen: "127.0.0.1:0")
    configure(&configuration)
    return try NodeDirectory.initialize(at: try makeTemporaryDirectory(label).appendingPathComponent("node").path, configuration: configuration)
}

/// Collects log lines (tests assert on them).
final class LogLines: Sendable {
    private let lines = Mutex<[String]>([])
    func append(_ line: String) { lines.withLock { $0.append(line) } }
    var all: [String] { lines.withLock { $0 } }
}

/// A running node server plus a plaintext client for its local API.
struct RunningNode {
    let node: OpenNode
    let server: NodeServer
    let client: HTTPClient
    let log: LogLines

    init(_ node: OpenNode) throws {
        self.node = node
        let log = LogLines()
        self.log = log
        server = try NodeServer.start(node: node, log: { log.append($0) })
        client = try HTTPClient(configuration: .init(host: "127.0.0.1", port: server.apiPort, requestTimeout: .seconds(20)))
    }

    func get(_ target: String, headers: HTTPHeaders = [:]) throws -> HTTPResponse {
        try client.send(HTTPRequest(method: .get, target: target, headers: headers))
    }

    func post(_ target: String, body: [UInt8], contentType: String = "application/ld+json") throws -> HTTPResponse {
        try client.send(HTTPRequest(method: .post, target: target, headers: ["Content-Type": contentType], body: body))
    }

    func stop() { server.shutdown(timeout: .seconds(5)) }
}

extension HTTPResponse {
    /// The body parsed as JSON (nil if it is not JSON).
    /// GS1's examples repeat a key (`eventID`), so parse as EPCIS input is parsed: last wins.
    var json: JSONValue? { try? JSONParser.parse(body, limits: EPCISDocumentParser.limits) }
    var jsonObject: JSONObject? { json?.objectValue }
    var text: String { String(decoding: body, as: UTF8.self) }
}

extension JSONValue {
    var intValue: Int? { if case .number(let text) = self { return Int(text) } else { return nil } }
}

/// A stored event's raw bytes as JSON (repeated keys: last wins, as EPCIS input).
func parseEvent(_ raw: [UInt8]) -> JSONValue {
    (try? JSONParser.parse(raw, limits: EPCISDocumentParser.limits)) ?? .null
}

/// Percent-encodes a path segment or query value.
func encoded(_ text: String) -> String { EventQueryParameters.percentEncode(text) }

/// The events of an EPCISQueryDocument body.
func eventList(_ response: HTTPResponse) -> [JSONValue] {
    response.jsonObject?["epcisBody"]?.objectValue?["queryResults"]?.objectValue?["resultsBody"]?.objectValue?["eventList"]?.arrayValue ?? []
}

/// Runs a program and returns its exit status and combined output.
@discardableResult
func run(_ executable: String, _ arguments: [String], in directory: URL? = nil) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if let directory { process.currentDirectoryURL = directory }
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    process.standardInput = FileHandle.nullDevice
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}

/// A throw-away federation PKI made with the openssl CLI: a root and CRL, a node (KZ)
/// transport certificate, a Party client (UA), a client without a Party URI, a revoked
/// client, and a client from a foreign CA. Made once per test process.
struct TestPKI: Sendable {
    let directory: URL

    func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    static let shared: TestPKI = {
        do { return try TestPKI() } catch { fatalError("cannot create test PKI: \(error)") }
    }()

    private init() throws {
        directory = try makeTemporaryDirectory("pki")
        let script = #"""
        set -eu
        umask 077
        mkdir newcerts && touch index.txt && echo 1000 > serial && echo 1000 > crlnumber
        cat > ca.cnf <<'CNF'
        [ca]
        default_ca = test
        [test]
        dir = .
        database = index.txt
        new_certs_dir = newcerts
        certificate = root.pem
        private_key = root.key
        serial = serial
        crlnumber = crlnumber
        default_md = sha256
        default_days = 30
        default_crl_days = 30
        policy = anything
        unique_subject = no
        email_in_dn = no
        [anything]
        commonName = supplied
        [kz_ext]
        basicConstraints = critical, CA:FALSE
        keyUsage = critical, digitalSignature
        extendedKeyUsage = serverAuth, clientAuth
        subjectAltName = URI:urn:fctc:party:KZ, IP:127.0.0.1
        [ua_ext]
        basicConstraints = critical, CA:FALSE
        keyUsage = critical, digitalSignature
        extendedKeyUsage = serverAuth, clientAuth
        subjectAltName = URI:urn:fctc:party:UA
        [revoked_ext]
        basicConstraints = critical, CA:FALSE
        keyUsage = critical, digitalSignature
        extendedKeyUsage = clientAuth
        subjectAltName = URI:urn:fctc:party:RV
        [noparty_ext]
        basicConstraints = critical, CA:FALSE
        keyUsage = critical, digitalSignature
        extendedKeyUsage = clientAuth
        subjectAltName = DNS:operator.example, URI:urn:fctc:other:thing
        CNF
        key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
        key root.key
        openssl req -x509 -new -key root.key -out root.pem -days 30 -subj "/CN=FedTrace Test Root" \
            -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
        issue() {
            name=$1; ext=$2; shift 2
            key "$name.key"
            openssl req -new -key "$name.key" -out "$name.csr" -subj "/CN=$name"
            openssl ca -batch -notext -config ca.cnf -in "$name.csr" -out "$name.pem" -extensions "$ext" "$@" 2>/dev/null
        }
        issue kz kz_ext
        issue ua ua_ext
        issue noparty noparty_ext
        issue revoked revoked_ext
        openssl ca -config ca.cnf -revoke revoked.pem 2>/dev/null
        openssl ca -config ca.cnf -gencrl -out crl.pem 2>/dev/null
        key foreign-root.key
        openssl req -x509 -new -key foreign-root.key -out foreign-root.pem -days 30 -subj "/CN=Foreign Root" \
            -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
        key foreign.key
        openssl req -new -key foreign.key -out foreign.csr -subj "/CN=foreign"
        printf 'basicConstraints=critical,CA:FALSE\nextendedKeyUsage=clientAuth\nsubjectAltName=URI:urn:fctc:party:UA\n' > foreign.ext
        openssl x509 -req -in foreign.csr -CA foreign-root.pem -CAkey foreign-root.key -CAcreateserial \
            -out foreign.pem -days 30 -extfile foreign.ext 2>/dev/null
        """#
        let result = try run("/bin/bash", ["-c", script], in: directory)
        guard result.status == 0 else { throw NSError(domain: "TestPKI", code: Int(result.status), userInfo: [NSLocalizedDescriptionKey: result.output]) }
    }

    /// Installs the KZ node's certificate folder (DESIGN §4 layout) into `node`'s data directory.
    func install(into node: OpenNode, crl: Bool = true) throws {
        let certs = node.directory.certificatesPath
        try FileManager.default.createDirectory(atPath: certs, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        var files = [("root.pem", "root.pem"), ("kz.pem", "transport.pem"), ("kz.key", "transport.key")]
        if crl { files.append(("crl.pem", "crl.pem")) }
        for (from, to) in files {
            try FileManager.default.copyItem(atPath: path(from), toPath: certs + "/" + to)
        }
        chmod(certs + "/transport.key", 0o600)
    }

    /// A client presenting `name`.pem (nil: no certificate), trusting `root` for the server.
    func clientTLS(_ name: String?, root: String = "root.pem") -> TLSConfiguration {
        .client(trustRootsFile: path(root), certificateChainFile: name.map { path("\($0).pem") },
                privateKeyFile: name.map { path("\($0).key") })
    }
}
