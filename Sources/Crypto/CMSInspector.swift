internal import COpenSSL
import Foundation

/// The CMS content types FedTrace makes and reads.
public enum CMSContentKind: String, Sendable {
    /// SignedData (RFC 5652 §5).
    case signed
    /// EnvelopedData (RFC 5652 §6), e.g. from `openssl cms -encrypt` with a CBC cipher.
    case enveloped
    /// AuthEnvelopedData (RFC 5083), what `CMS.seal` makes (AES-256-GCM).
    case authEnveloped = "auth-enveloped"
    /// Any other content type.
    case other
}

/// One signer as the object names it; nothing here is verified.
public struct CMSSignerSummary: Sendable, Equatable {
    /// The `urn:fctc:` identity of the matching certificate inside the object (or among the known ones).
    public var partyURN: String?
    /// The signer identifier: issuer DN and serial, when it is of that form.
    public var issuer: String?
    public var serialNumber: String?
    /// The signingTime signed attribute.
    public var signingTime: Date?
}

/// One recipient as the object names it.
public struct CMSRecipientSummary: Sendable, Equatable {
    /// `key-agreement`, `key-transport` or `other`.
    public var method: String
    /// The `urn:fctc:` identity when a known certificate matches the identifier.
    public var partyURN: String?
    /// The recipient identifier: issuer DN and serial, when it is of that form.
    public var issuer: String?
    public var serialNumber: String?
}

/// What `CMSInspector.inspect` found: structure only, never content or keys.
public struct CMSDescription: Sendable, CustomStringConvertible {
    public var kind: CMSContentKind
    /// The content type OID in dotted or short-name form.
    public var contentType: String
    /// For SignedData: whether the content is detached.
    public var isDetached: Bool
    /// For SignedData with attached content: its length in bytes.
    public var contentLength: Int?
    public var signers: [CMSSignerSummary]
    public var recipients: [CMSRecipientSummary]

    /// One line per fact, for `fedtrace verify FILE`.
    public var description: String {
        var lines = ["type: \(kind.rawValue) (\(contentType))"]
        if kind == .signed {
            lines.append(isDetached ? "content: detached" : "content: \(contentLength ?? 0) bytes attached")
        }
        for signer in signers {
            let time = signer.signingTime.map(utcText) ?? "no signing time"
            lines.append("signer: \(signer.partyURN ?? "unknown party") (serial \(signer.serialNumber ?? "?")), signed \(time)")
        }
        for recipient in recipients {
            lines.append("recipient: \(recipient.partyURN ?? "unknown party") (\(recipient.method), serial \(recipient.serialNumber ?? "?"))")
        }
        return lines.joined(separator: "\n")
    }
}

/// Describes any CMS object without verifying or decrypting it (`fedtrace verify FILE`).
public enum CMSInspector {
    /// Parses DER or PEM CMS and names its type, signers (Party, signing time) and recipients.
    /// `knownCertificates` (e.g. the directory's sealing certificates) let recipients be
    /// named by Party. Throws `crypto.cms.malformed` for anything that is not CMS.
    public static func inspect(_ bytes: [UInt8], knownCertificates: [Certificate] = []) throws -> CMSDescription {
        let object = try CMSObject.parse(bytes)
        var description = CMSDescription(kind: object.kind, contentType: object.typeName, isDetached: false,
                                         contentLength: nil, signers: [], recipients: [])
        switch object.kind {
        case .signed:
            description.isDetached = CMS_is_detached(object.cms) == 1
            if !description.isDetached, let content = CMS_get0_content(object.cms), let octets = content.pointee {
                description.contentLength = Int(ASN1_STRING_length(octets))
            }
            let candidates = object.certificates + knownCertificates
            description.signers = object.signerInfos.map { info in
                var keyID: UnsafeMutablePointer<ASN1_OCTET_STRING>? = nil
                var issuer: OpaquePointer? = nil
                var serial: UnsafeMutablePointer<ASN1_INTEGER>? = nil
                let named = CMS_SignerInfo_get0_signer_id(info, &keyID, &issuer, &serial) == 1
                let match = candidates.first { CMS_SignerInfo_cert_cmp(info, $0.x509) == 0 }
                return CMSSignerSummary(partyURN: match?.partyURN, issuer: named && issuer != nil ? oneLine(issuer) : nil,
                                        serialNumber: named && serial != nil ? serialHex(serial) : nil,
                                        signingTime: signingTime(of: info))
            }
        case .enveloped, .authEnveloped:
            for info in object.recipientInfos {
                switch CMS_RecipientInfo_type(info) {
                case CMS_RECIPINFO_AGREE:
                    guard let keys = CMS_RecipientInfo_kari_get0_reks(info) else { continue }
                    for index in 0..<fedtrace_sk_CMS_RecipientEncryptedKey_num(keys) {
                        guard let key = fedtrace_sk_CMS_RecipientEncryptedKey_value(keys, index) else { continue }
                        var keyID: UnsafeMutablePointer<ASN1_OCTET_STRING>? = nil
                        var date: UnsafeMutablePointer<ASN1_GENERALIZEDTIME>? = nil
                        var other: OpaquePointer? = nil
                        var issuer: OpaquePointer? = nil
                        var serial: UnsafeMutablePointer<ASN1_INTEGER>? = nil
                        _ = CMS_RecipientEncryptedKey_get0_id(key, &keyID, &date, &other, &issuer, &serial)
                        let match = knownCertificates.first { CMS_RecipientEncryptedKey_cert_cmp(key, $0.x509) == 0 }
                        description.recipients.append(CMSRecipientSummary(
                            method: "key-agreement", partyURN: match?.partyURN,
                            issuer: issuer.map { oneLine($0) }, serialNumber: serial.map { serialHex($0) }))
                    }
                case CMS_RECIPINFO_TRANS:
                    var keyID: UnsafeMutablePointer<ASN1_OCTET_STRING>? = nil
                    var issuer: OpaquePointer? = nil
                    var serial: UnsafeMutablePointer<ASN1_INTEGER>? = nil
                    _ = CMS_RecipientInfo_ktri_get0_signer_id(info, &keyID, &issuer, &serial)
                    let match = knownCertificates.first { CMS_RecipientInfo_ktri_cert_cmp(info, $0.x509) == 0 }
                    description.recipients.append(CMSRecipientSummary(
                        method: "key-transport", partyURN: match?.partyURN,
                        issuer: issuer.map { oneLine($0) }, serialNumber: serial.map { serialHex($0) }))
                default:
                    description.recipients.append(CMSRecipientSummary(method: "other"))
                }
            }
        case .other:
            break
        }
        _ = drainOpenSSLErrors()
        return description
    }
}
