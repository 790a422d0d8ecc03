public import Model

/// Which event members each Article 8.4.1 element grants (docs/agreements.md, "fields").
///
/// Core members always travel: without them an event is not an EPCIS event, cannot be
/// re-checked by the receiver, or loses its identity. Every other member is kept only when
/// an element that maps it is allowed; anything not in this table is always removed.
public enum FieldMap {
    /// How one member is treated: kept whole, or (for `ilmd` and extension objects) member by member.
    public struct Node: Sendable {
        /// nil = a core member (always kept); otherwise the elements that grant it.
        public let elements: Set<Agreement.Element>?
        /// Members of an object value, each with its own rule; nil = the value is kept whole.
        public let children: [String: Node]?

        static func core() -> Node { Node(elements: nil, children: nil) }
        static func granted(_ elements: Agreement.Element...) -> Node { Node(elements: Set(elements), children: nil) }
        static func object(_ children: [String: Node]) -> Node {
            Node(elements: children.values.reduce(into: Set<Agreement.Element>()) { $0.formUnion($1.elements ?? []) }, children: children)
        }

        /// Whether a flow allowing `allowed` keeps this member.
        func permits(_ allowed: Set<Agreement.Element>) -> Bool {
            guard let elements else { return true }
            return !elements.isDisjoint(with: allowed)
        }
    }

    /// Members kept in every event, whatever the flow's fields.
    public static let coreMembers: [String] = [
        "@context", "type", "eventID", "eventTime", "eventTimeZoneOffset", "action", "bizStep", "disposition",
        "epcList", "parentID", "childEPCs", "inputEPCList", "outputEPCList", "transformationID",
        "quantityList", "childQuantityList", "inputQuantityList", "outputQuantityList", "errorDeclaration",
    ]

    static func party(_ element: Agreement.Element) -> Node {
        .object(["tt:name": .granted(element), "tt:identifier": .granted(element), "tt:country": .granted(element)])
    }

    /// The whole table, top-level members first.
    public static let event: [String: Node] = {
        var table: [String: Node] = [:]
        for member in coreMembers { table[member] = .core() }
        table["readPoint"] = .granted(.a, .h)
        table["bizLocation"] = .granted(.a, .b, .h)
        table["ilmd"] = .object([
            "tt:manufactureCountry": .granted(.a),
            "tt:facilityID": .granted(.b),
            "tt:machineID": .granted(.c),
            "tt:productionShift": .granted(.d),
            "tt:productionTime": .granted(.d),
            "tt:intendedMarket": .granted(.f),
            "tt:productDescription": .granted(.g),
            "tt:productCategory": .granted(.g),
            "tt:brand": .granted(.g),
        ])
        table["bizTransactionList"] = .granted(.e)
        table["tt:firstCustomer"] = party(.e)
        table["tt:productCategory"] = .granted(.g)
        table["sourceList"] = .granted(.h)
        table["destinationList"] = .granted(.h)
        table["tt:subsequentPurchaser"] = party(.i)
        table["tt:intendedRoute"] = .granted(.j)
        table["tt:pointOfDeparture"] = .granted(.j)
        table["tt:destinationCountry"] = .granted(.j)
        table["tt:consignee"] = party(.j)
        table["tt:transport"] = .object(["tt:mode": .granted(.j), "tt:vehicle": .granted(.j)])
        table["tt:deactivationReason"] = .granted(.deactivation)
        return table
    }()

    /// The JSON paths (`ilmd.tt:brand`) each element grants, for documentation and `explain`.
    public static func paths(of element: Agreement.Element) -> [String] {
        var out: [String] = []
        func walk(_ table: [String: Node], _ prefix: String) {
            for (key, node) in table {
                let path = prefix.isEmpty ? key : "\(prefix).\(key)"
                if let children = node.children { walk(children, path) } else if node.elements?.contains(element) == true { out.append(path) }
            }
        }
        walk(event, "")
        return out.sorted()
    }
}

/// One member redaction removed, and the rule that removed it.
public struct RemovedField: Sendable, Equatable {
    /// JSON path in the event (`ilmd.tt:machineID`, `tt:consignee.tt:note`).
    public let path: String
    public let rule: String
}

/// Keeps only what a flow allows (top level, inside `ilmd`, inside extension objects).
public enum Redaction {
    /// The event with every member the flow does not allow removed, and the list of removals.
    public static func redact(_ event: JSONObject, flow: Agreement.Flow) -> (event: JSONObject, removed: [RemovedField]) {
        var removed: [RemovedField] = []
        let kept = redact(event, table: FieldMap.event, allowed: Set(flow.fields), flowID: flow.id, prefix: "", removed: &removed)
        return (kept, removed)
    }

    static func redact(_ object: JSONObject, table: [String: FieldMap.Node], allowed: Set<Agreement.Element>, flowID: String,
                       prefix: String, removed: inout [RemovedField]) -> JSONObject {
        var out = JSONObject([JSONObject.Member]())
        for member in object.members {
            let path = prefix.isEmpty ? member.key : "\(prefix).\(member.key)"
            guard let node = table[member.key] else {
                removed.append(RemovedField(path: path, rule: "not a core EPCIS member and not mapped to any Article 8.4.1 element"))
                continue
            }
            guard node.permits(allowed) else {
                let letters = (node.elements ?? []).sorted().map { $0 == .deactivation ? "deactivation" : "(\($0.rawValue))" }
                removed.append(RemovedField(path: path, rule: "Article 8.4.1 \(letters.joined(separator: " or ")) not in the fields of flow \(flowID)"))
                continue
            }
            if let children = node.children {
                guard case .object(let inner) = member.value else {
                    removed.append(RemovedField(path: path, rule: "must be an object to be kept member by member, found \(member.value.typeDescription)"))
                    continue
                }
                let kept = redact(inner, table: children, allowed: allowed, flowID: flowID, prefix: path, removed: &removed)
                if kept.members.isEmpty {
                    if inner.members.isEmpty { removed.append(RemovedField(path: path, rule: "empty object")) }
                    continue
                }
                out.members.append(JSONObject.Member(key: member.key, value: .object(kept)))
            } else {
                out.members.append(JSONObject.Member(key: member.key, value: member.value))
            }
        }
        return out
    }
}
