import Core

/// The form in which the store keeps an event's raw bytes: the exact bytes as received,
/// coded with `LZ` and a dictionary of EPCIS 2.0 JSON (member names, CBV words, GS1
/// Digital Link and EPC URI prefixes, the tobacco extension of DESIGN §5), which makes a
/// typical event about a third of its size. The bytes of the raw JSON were 70% of each
/// stored row and the writer's floor (docs/performance.md, "capture", eleventh session).
///
/// Stored form:
/// - first byte `0x01`: packed with dictionary 1; an unsigned LEB128 length (the raw
///   bytes' count, at most `maximumCount`: 64 MiB), then one `LZ` block;
/// - anything else: the raw bytes as they are (an event object's JSON starts with `{`,
///   never with `0x01`): what rows written before packing hold, and an event that does not
///   get shorter.
///
/// Dictionary 1 is part of the store's format: it must never change. A better one gets the
/// next marker byte, and readers keep every earlier one.
public enum PackedEvent {
    /// Marker of a block coded with `dictionary1`.
    static let dictionary1Marker: UInt8 = 0x01
    /// The longest raw bytes kept packed (longer ones are kept plain): a damaged or forged
    /// length cannot make a reader allocate more than this.
    public static let maximumCount = 64 << 20

    /// `raw` in stored form: packed when that is shorter, or when plain bytes would read as
    /// a packed value (they start with the marker; an event's JSON never does, and such
    /// bytes must not be longer than `maximumCount`). The packed form is decoded again
    /// before it is returned: a coder fault would store plain bytes, never wrong ones.
    public static func pack(_ raw: UnsafeBufferPointer<UInt8>) -> [UInt8] {
        let ambiguous = raw.first == dictionary1Marker
        precondition(!ambiguous || raw.count <= maximumCount, "bytes starting with the packed marker are too long to pack")
        guard raw.count <= maximumCount,
              let block = ambiguous ? LZ.encode(raw, dictionary: dictionary1) : LZ.compress(raw, dictionary: dictionary1),
              let decoded = block.withUnsafeBufferPointer({ LZ.decompress($0, count: raw.count, dictionary: dictionary1) }),
              decoded.withUnsafeBufferPointer({ compareBytes($0, raw) }) == 0
        else {
            precondition(!ambiguous, "bytes starting with the packed marker did not pack")
            return Array(raw)
        }
        var out: [UInt8] = []
        out.reserveCapacity(block.count + 6)
        out.append(dictionary1Marker)
        var n = raw.count
        while n >= 0x80 { out.append(UInt8(n & 0x7F) | 0x80); n >>= 7 }
        out.append(UInt8(n))
        out += block
        return out.count < raw.count || ambiguous ? out : Array(raw)
    }

    public static func pack(_ raw: [UInt8]) -> [UInt8] {
        raw.withUnsafeBufferPointer { pack($0) }
    }

    /// The raw bytes of a stored value, or nil when it is packed and does not decode.
    public static func unpack(_ stored: [UInt8]) -> [UInt8]? {
        guard stored.first == dictionary1Marker else { return stored }
        return stored.withUnsafeBufferPointer { s -> [UInt8]? in
            var i = 1, count = 0, shift = 0
            while true {
                guard i < s.count, shift <= 28 else { return nil }
                let byte = Int(s[i])
                i += 1
                count |= (byte & 0x7F) << shift
                shift += 7
                if byte & 0x80 == 0 { break }
            }
            guard count <= maximumCount else { return nil }
            return LZ.decompress(UnsafeBufferPointer(rebasing: s[i...]), count: count, dictionary: dictionary1)
        }
    }

    /// Dictionary 1 (fixed forever; see above): fragments of EPCIS 2.0 JSON as events are
    /// commonly written (compact), rarest first, so the commonest lie nearest the data.
    static let dictionary1 = LZ.Dictionary(Array(dictionary1Text.utf8))

    static let dictionary1Text: String = [
        // EPC URIs and CBV vocabularies in their URN and web forms.
        #"urn:epc:id:sgtin:urn:epc:id:sscc:urn:epc:id:sgln:urn:epc:id:pgln:urn:epc:id:grai:urn:epc:id:giai:"#,
        #"urn:epc:class:lgtin:urn:epc:idpat:sgtin:urn:epcglobal:cbv:bizstep:urn:epcglobal:cbv:disp:"#,
        #"urn:epcglobal:cbv:btt:urn:epcglobal:cbv:sdt:urn:epcglobal:cbv:er:"#,
        #"https://ref.gs1.org/cbv/BizStep-https://ref.gs1.org/cbv/Disp-https://ref.gs1.org/cbv/BTT-"#,
        #"https://ref.gs1.org/cbv/SDT-https://ref.gs1.org/cbv/ER-https://gs1.org/voc/"#,
        // Less common members.
        #""sensorElementList":[{"sensorMetadata":{"time":"","sensorReport":[{"type":"gs1:MT-Temperature","value":,"uom":"CEL"}]}],"#,
        #""certificationInfo":"","persistentDisposition":{"set":["],"unset":["],"#,
        #""errorDeclaration":{"declarationTime":"","reason":"incorrect_data","correctiveEventIDs":["ni:///sha-256;?ver=CBV2.0"],"#,
        #""eventID":"ni:///sha-256;","type":"TransformationEvent","eventTime":"","inputEPCList":["","outputEPCList":[""#,
        #","inputQuantityList":[{"epcClass":"","quantity":,"uom":"KGM"}],"outputQuantityList":[{"epcClass":"","transformationID":""#,
        #","type":"AssociationEvent","eventTime":"","type":"TransactionEvent","eventTime":"","#,
        #""bizTransactionList":[{"type":"inv","bizTransaction":"urn:epcglobal:cbv:bt:"},{"type":"po","bizTransaction":"urn:epcglobal:cbv:bt:"},"#,
        #"{"type":"pay","bizTransaction":"","sourceList":[{"type":"owning_party","source":"https://id.gs1.org/417/"},"#,
        #"{"type":"possessing_party","source":"https://id.gs1.org/417/"},{"type":"location","source":"https://id.gs1.org/414/"}],"#,
        #""destinationList":[{"type":"owning_party","destination":"https://id.gs1.org/417/"},"#,
        #"{"type":"possessing_party","destination":"https://id.gs1.org/417/"},{"type":"location","destination":"https://id.gs1.org/414/"}],"#,
        #""quantityList":[{"epcClass":"https://id.gs1.org/01/","quantity":"#,
        // CBV business steps and dispositions.
        #""],"action":"OBSERVE","bizStep":"inspecting","disposition":"in_transit","bizStep":"shipping","disposition":"in_transit","#,
        #""bizStep":"receiving","disposition":"in_progress","bizStep":"loading","bizStep":"unloading","bizStep":"unpacking","#,
        #""disposition":"inactive","bizStep":"decommissioning","disposition":"destroyed","bizStep":"destroying","#,
        #""disposition":"recalled","bizStep":"holding","disposition":"sellable_accessible","bizStep":"retail_selling","#,
        #""bizStep":"accepting","bizStep":"departing","bizStep":"arriving","disposition":"container_closed","#,
        #""disposition":"returned","bizStep":"transporting","disposition":"dispensed","#,
        // The tobacco extension (DESIGN §5: Article 8.4.1 (a)–(j)).
        #""tt:intendedRoute":"","tt:firstCustomer":{"tt:name":"","tt:identifier":"","tt:country":""},"#,
        #""tt:transport":{"tt:mode":"road","tt:vehicle":"","tt:pointOfDeparture":"","tt:destinationCountry":"","#,
        #""tt:consignee":"","tt:payment":"","tt:subsequentPurchaser":"","tt:deactivationReason":"","#,
        #""ilmd":{"tt:manufactureCountry":"","tt:facilityID":"","tt:machineID":"","tt:productionShift":"","#,
        #""tt:productionTime":"","tt:intendedMarket":"","tt:productDescription":", 20 cigarettes","#,
        #""tt:productCategory":"cigarettes","tt:brand":"","#,
        // The commonest: an event's start, identifier lists, action, step, locations.
        #"{"type":"AggregationEvent","eventTime":"2026-01-01T00:00:00.000Z","eventTimeZoneOffset":"+00:00","recordTime":"","#,
        #"{"type":"ObjectEvent","eventTime":"2026-01-01T00:00:00.000Z","eventTimeZoneOffset":"+00:00","recordTime":"","#,
        #""parentID":"https://id.gs1.org/00/","childEPCs":["https://id.gs1.org/01/","epcList":["https://id.gs1.org/01/0","#,
        #""https://id.gs1.org/01/0"],"action":"DELETE","action":"ADD","bizStep":"packing","disposition":"in_progress","#,
        #""readPoint":{"id":"https://id.gs1.org/414/"},"bizLocation":{"id":"https://id.gs1.org/414/"}}"#,
    ].joined()
}
