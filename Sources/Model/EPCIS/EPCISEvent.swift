/// The five EPCIS 2.0 event types.
public enum EPCISEventType: String, Sendable, CaseIterable, Codable {
    case object = "ObjectEvent"
    case aggregation = "AggregationEvent"
    case transaction = "TransactionEvent"
    case transformation = "TransformationEvent"
    case association = "AssociationEvent"
}

/// How an identifier appears in an event; the UIM index keeps the role so a trace can tell
/// a pallet (parent) from the packs it carries (children).
public enum UIMRole: String, Sendable, Codable, CaseIterable {
    case epc, parent, child, input, output
    /// An EPC class in a quantity list (a lot or product class, not a single item).
    case quantityClass = "class"
}

/// An identifier named by an event, in canonical GS1 Digital Link form when it is a GS1
/// key (so `urn:epc:id:sgtin:…` and `https://id.gs1.org/01/…/21/…` index alike).
public struct UIMReference: Sendable, Hashable, Codable {
    public let uim: String
    public let role: UIMRole

    public init(uim: String, role: UIMRole) {
        self.uim = uim
        self.role = role
    }

    /// The canonical index form of an identifier as written in an event or a query.
    public static func canonical(_ identifier: String) -> String {
        DigitalLinkNormalizer.normalize(identifier) ?? identifier
    }
}

/// One validated EPCIS 2.0 event with its hash ID and the fields the store indexes.
public struct EPCISEvent: Sendable {
    public let type: EPCISEventType
    /// The CBV 2.0 event hash ID, computed on the full event (for an event received from
    /// another Party, the origin's). The pre-hash string it was computed from is not kept
    /// (capture never needed it, and it was the longest string of every event):
    /// `EPCISDocumentParser.prehashes` explains a document's IDs.
    public let hashID: String
    /// The event as parsed (member order and number text preserved): the object given
    /// when it was validated, else (a captured event, read in place from its document's
    /// tape) its `raw` bytes parsed on demand, which give the same members.
    public var body: JSONObject {
        if let parsedBody { return parsedBody }
        let parsed = try? JSONParser.parse(raw, limits: EPCISDocumentParser.limits)
        return parsed?.objectValue ?? JSONObject([])
    }
    let parsedBody: JSONObject?
    /// The exact bytes of the event object as received (evidence), unpacked from `stored`
    /// on each use (an event keeps one copy of its bytes: a second was an allocation and a
    /// copy of every event captured).
    public var raw: [UInt8] {
        guard let raw = PackedEvent.unpack(stored) else { preconditionFailure("an event's own packed bytes did not unpack") }
        return raw
    }
    /// The raw bytes in the form the store keeps (`PackedEvent`).
    public let stored: [UInt8]
    public let eventTime: Timestamp
    public let eventTimeZoneOffset: String
    public let recordTime: Timestamp?
    public let action: String?
    /// Business step as a CBV web vocabulary URI when it is a CBV word.
    public let bizStep: String?
    public let disposition: String?
    public let readPoint: String?
    public let bizLocation: String?
    public let parentID: String?
    /// Every identifier the event names, canonical, without duplicates.
    public let uims: [UIMReference]
    /// True when the event carries an `errorDeclaration`: it declares the event with the
    /// same hash ID erroneous and is stored beside it, not deduplicated against it.
    public let declaresError: Bool
}

extension EPCISEvent {
    /// The identifiers with role `child` (the contents of an aggregation or association).
    public var children: [String] { uims.filter { $0.role == .child }.map(\.uim) }
}
