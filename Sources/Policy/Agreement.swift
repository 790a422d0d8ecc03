public import Model

/// A sharing agreement between Parties (DESIGN §6), parsed strictly from its JSON document.
///
/// Its identity is `hash`: the SHA-256 of the RFC 8785 canonical form of the document
/// without `signatures`, which is also what each Party signs. See docs/agreements.md.
public struct Agreement: Sendable, Equatable {
    /// The only profile this version of FedTrace understands; any other is refused.
    public static let knownProfiles: Set<String> = ["fctc-tt-1"]

    public let id: String
    public let version: Int
    /// Hash of the version this one replaces; nil for a first version.
    public let supersedes: String?
    public let profile: String
    public let parties: [Party]
    public let validity: Validity
    public let purposes: [Purpose]
    public let legalBasis: String
    public let flows: [Flow]
    public let onwardTransfer: OnwardTransfer
    public let relay: Relay
    public let enquiry: EnquiryTerms
    public let termination: Termination
    public let signatures: [Signature]
    /// The document as parsed (member order and number text kept).
    public let document: JSONObject
    /// Lower-case hex SHA-256 of `canonicalBytes`: the agreement's identity.
    public let hash: String
    /// RFC 8785 bytes of the document without `signatures`: what every Party signs.
    public let canonicalBytes: [UInt8]

    /// One Party to the agreement with the competent authority acting for it (Art. 22).
    public struct Party: Sendable, Equatable {
        public let party: PartyID
        public let competentAuthority: String
    }

    /// When the agreement may be active: `notBefore ≤ t ≤ notAfter`, both inclusive.
    public struct Validity: Sendable, Equatable {
        public let notBefore: Timestamp
        public let notAfter: Timestamp
        /// Whether `instant` falls inside the window.
        public func contains(_ instant: Timestamp) -> Bool { !(instant < notBefore) && !(notAfter < instant) }
    }

    /// The closed vocabulary of purposes (Art. 8.9(b): detect or investigate illicit trade).
    public enum Purpose: String, Sendable, CaseIterable {
        case illicitTradeDetection = "illicit-trade-detection"
        case investigation
        case prosecution
        case riskAnalysis = "risk-analysis"
    }

    /// One directed sharing flow.
    public struct Flow: Sendable, Equatable {
        public let id: String
        public let from: [PartyID]
        public let to: [PartyID]
        public let action: Action
        public let rowFilter: RowFilter
        /// The Article 8.4.1 elements the recipients may see (core EPCIS members always travel).
        public let fields: [Element]
        public let duties: Duties

        /// What the flow carries: pushed deltas, or answers to enquiries.
        public enum Action: String, Sendable, CaseIterable {
            case replicate
            case answerEnquiry
        }
    }

    /// Which events a flow carries. A nil dimension does not constrain; an empty list matches nothing.
    public struct RowFilter: Sendable, Equatable {
        public let eventTypes: [EPCISEventType]?
        /// Business steps as CBV web vocabulary URIs (bare words are expanded when parsed).
        public let bizSteps: [String]?
        /// Dispositions as CBV web vocabulary URIs.
        public let dispositions: [String]?
        public let productCategories: [ProductCategory]?
        public let sourceCountry: CountryMatch?
        public let destinationCountry: CountryMatch?
        /// Inclusive lower bound on `eventTime`.
        public let eventTimeFrom: Timestamp?
        /// Exclusive upper bound on `eventTime`.
        public let eventTimeBefore: Timestamp?
    }

    /// `tt:productCategory` values (docs/tobacco-extension.md, element (g)).
    public enum ProductCategory: String, Sendable, CaseIterable {
        case cigarettes
        case otherTobacco = "other-tobacco"
    }

    /// A country condition: a fixed ISO 3166-1 alpha-2 code, or the Party at one end of the flow.
    public enum CountryMatch: Sendable, Equatable, CustomStringConvertible {
        case country(String)
        /// The recipient Party's country (token `"recipient"`).
        case recipient
        /// The origin Party's country (token `"origin"`).
        case origin

        public var description: String {
            switch self {
            case .country(let code): return code
            case .recipient: return "recipient"
            case .origin: return "origin"
            }
        }
    }

    /// An Article 8.4.1 element letter, or the deactivation record (EU 2018/574 art. 15).
    public enum Element: String, Sendable, CaseIterable, Comparable {
        case a, b, c, d, e, f, g, h, i, j
        case deactivation

        public static func < (lhs: Element, rhs: Element) -> Bool {
            allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
        }
    }

    /// Obligations of the recipients of a flow.
    public struct Duties: Sendable, Equatable {
        /// Received events are deleted this many days after receipt.
        public let retentionDays: Int
        /// Signed receipts are always owed (the parser accepts only `true`).
        public let receipts: Bool
    }

    /// Art. 21: whether a recipient may pass received data on, and to whom.
    public enum OnwardTransfer: Sendable, Equatable {
        case forbidden
        case allowed([PartyID])
    }

    /// Whether sealed envelopes may travel through a hub (which can never open them).
    public struct Relay: Sendable, Equatable {
        public let viaHub: PartyID?
    }

    /// How the providing Party answers enquiries (Art. 8.9).
    public struct EnquiryTerms: Sendable, Equatable {
        public let mode: Mode
        /// In `autoUpTo` mode, the largest enquiry (in UIMs) answered without an officer.
        public let maxUIMs: Int?
        public let answerWithinHours: Int

        public enum Mode: String, Sendable, CaseIterable {
            case auto
            case manual
            case autoUpTo
        }
    }

    /// What happens at termination.
    public struct Termination: Sendable, Equatable {
        public let noticeDays: Int
        public let receivedData: ReceivedData

        public enum ReceivedData: String, Sendable, CaseIterable {
            case delete
            case retainUntilRetention = "retain-until-retention"
        }
    }

    /// One Party's CMS signature (base64 DER, detached) over `canonicalBytes`; verified elsewhere.
    public struct Signature: Sendable, Equatable {
        public let party: PartyID
        public let cms: String
    }

    /// The flow named `id`, if any.
    public func flow(_ id: String) -> Flow? { flows.first { $0.id == id } }

    /// The Parties, as identities.
    public var partyIDs: [PartyID] { parties.map(\.party) }

    /// Parses `bytes` strictly: any unknown member, unknown profile, non-Party identity or
    /// wrong type refuses the whole agreement with a reason naming the JSON path.
    public static func parse(_ bytes: [UInt8]) throws(PolicyError) -> Agreement {
        let result = AgreementParser.read(bytes)
        if let first = result.issues.first { throw first }
        return result.agreement!
    }

    /// Parses an already parsed document strictly (see `parse(_:)`).
    public static func parse(_ value: JSONValue) throws(PolicyError) -> Agreement {
        let result = AgreementParser.read(value)
        if let first = result.issues.first { throw first }
        return result.agreement!
    }
}
