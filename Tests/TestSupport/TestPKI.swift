import Foundation
import Net

/// A throw-away TLS test PKI made with the openssl CLI in a fresh temp directory, shared by
/// the Net and Node tests: a root and its CRL, a node certificate `kz`
/// (urn:fctc:party:KZ, 127.0.0.1, localhost), a client `ua` (urn:fctc:party:UA), `noparty`
/// (DNS name only), `otherurn` (a urn:fctc: URI that is not a Party), an `expired` and a
/// `revoked` client, and `foreign` from another CA. Made once per test process; it holds no
/// real secrets. (The Certs/ scripts make the federation's real layout; the Crypto and CLI
/// tests use those. This one makes the odd certificates those scripts must never make.)
public struct TestPKI: Sendable {
    public let directory: URL

    public func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    public static let shared: TestPKI = {
        do { return try TestPKI() } catch { fatalError("cannot create test PKI: \(error)") }
    }()

    private init() throws {
        directory = try makeTemporaryDirectory("test-pki")
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
        subjectAltName = URI:urn:fctc:party:KZ, IP:127.0.0.1, DNS:localhost
        [ua_ext]
        basicConstraints = critical, CA:FALSE
        keyUsage = critical, digitalSignature
        extendedKeyUsage = serverAuth, clientAuth
        subjectAltName = URI:urn:fctc:party:UA
        [expired_ext]
        basicConstraints = critical, CA:FALSE
        keyUsage = critical, digitalSignature
        extendedKeyUsage = clientAuth
        subjectAltName = URI:urn:fctc:party:EX
        [revoked_ext]
        basicConstraints = critical, CA:FALSE
        keyUsage = critical, digitalSignature
        extendedKeyUsage = clientAuth
        subjectAltName = URI:urn:fctc:party:RV
        [noparty_ext]
        basicConstraints = critical, CA:FALSE
        keyUsage = critical, digitalSignature
        extendedKeyUsage = clientAuth
        subjectAltName = DNS:operator.example
        [otherurn_ext]
        basicConstraints = critical, CA:FALSE
        keyUsage = critical, digitalSignature
        extendedKeyUsage = clientAuth
        subjectAltName = DNS:operator.example, URI:urn:fctc:other:thing
        CNF
        key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
        key root.key
        openssl req -x509 -new -key root.key -out root.pem -days 30 -subj "/CN=FedTrace Test Root" \
            -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
        issue() { # name extensions [extra ca args]
            name=$1; ext=$2; shift 2
            key "$name.key"
            openssl req -new -key "$name.key" -out "$name.csr" -subj "/CN=$name"
            openssl ca -batch -notext -config ca.cnf -in "$name.csr" -out "$name.pem" -extensions "$ext" "$@" 2>/dev/null
        }
        issue kz kz_ext
        issue ua ua_ext
        issue noparty noparty_ext
        issue otherurn otherurn_ext
        issue expired expired_ext -startdate 20200101000000Z -enddate 20200201000000Z
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

    /// The federation server configuration: mutual TLS, CRL checked.
    public func serverTLS() -> TLSConfiguration {
        .server(certificateChainFile: path("kz.pem"), privateKeyFile: path("kz.key"),
                trustRootsFile: path("root.pem"), crlFile: path("crl.pem"))
    }

    /// A client presenting `name`.pem (nil: no client certificate), trusting `root`.
    public func clientTLS(_ name: String?, root: String = "root.pem") -> TLSConfiguration {
        .client(trustRootsFile: path(root), certificateChainFile: name.map { path("\($0).pem") },
                privateKeyFile: name.map { path("\($0).key") })
    }
}
