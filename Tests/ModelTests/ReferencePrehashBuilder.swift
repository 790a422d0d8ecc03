@testable import Model

// The pre-hash builder as it was until the fifth session (a tree of `ReferenceHashNode`
// classes and `String` values), kept as the test oracle of the byte-oriented
// `PrehashBuilder`: it was checked against every GS1 reference row, the Python reference's
// vectors and 50,314 generated events, and `PrehashBuilderTests` compares the two on those
// and on generated random events. Not used by the product.

/// One node of the pre-hash tree: the reference's `(name, text, children)` triple. A class,
/// because the algorithm consumes children from shared lists while it walks them.
final class ReferenceHashNode {
    var name: String
    var text: String
    var children: [ReferenceHashItem]

    init(_ name: String, _ text: String, _ children: [ReferenceHashItem] = []) {
        self.name = name
        self.text = text
        self.children = children
    }
}

/// A child in the tree: a node, or the (type, value) pair a source, destination or
/// business transaction list element becomes. The second member is missing when the
/// element had a single member (the reference raises there; this keeps what there is).
enum ReferenceHashItem {
    case node(ReferenceHashNode)
    case pair(ReferenceHashNode, ReferenceHashNode?)

    var node: ReferenceHashNode? {
        if case .node(let n) = self { return n }
        return nil
    }
}


/// Builds the pre-hash string of one event.
///
/// Not for concurrent use: one builder per document and thread (its memo is unsynchronised).
struct ReferencePrehashBuilder {
    let context: HashContext
    let memo = NormalizeMemo()

    init(context: HashContext) {
        self.context = context
    }

    /// `UIMReference.canonical`, remembered for this document.
    func canonicalUIM(_ identifier: String) -> String {
        memo.normalize(identifier) ?? identifier
    }

    /// The CBV 2.0 pre-hash string of `event`.
    func prehash(of event: JSONObject) -> String {
        let root = correctStructure(node(fromObject: event))
        var out = "eventType=" + root.name
        out += ordered(&root.children, HashOrder.eventLevel)
        let ignored: Set<String> = ["recordTime", "eventID", "type", "errorDeclaration"]
        let rest = root.children.filter { item in
            guard let n = item.node else { return true }
            return !ignored.contains(n.name)
        }
        if !rest.isEmpty { out += generic(rest) }
        return out
    }

    // MARK: - JSON to tree (`_json_to_py`)

    func node(from value: JSONValue) -> ReferenceHashNode {
        switch value {
        case .object(let object): return node(fromObject: object)
        case .array(let elements): return ReferenceHashNode("", "", elements.map { .node(node(from: $0)) })
        case .string(let s): return ReferenceHashNode("", context.expandPrefix(bare(s), isValue: true))
        case .number(let n): return ReferenceHashNode("", PythonNumber.str(ofJSONNumber: n))
        case .bool(let b): return ReferenceHashNode("", b ? "True" : "False")
        case .null: return ReferenceHashNode("", "None")
        }
    }

    /// The document-level bare-word replacement, applied to every string value.
    @inline(__always) func bare(_ s: String) -> String {
        context.bareWords.isEmpty ? s : (context.bareWords[s] ?? s)
    }

    func node(fromObject object: JSONObject) -> ReferenceHashNode {
        var name = ""
        var text = ""
        if case .string(let type)? = object["type"] { name = bare(type) }
        if case .string(let t)? = object["#text"] { text = bare(t) }
        var children: [ReferenceHashItem] = []
        children.reserveCapacity(object.members.count)
        var keepsSourceOrder = false
        for member in object.members {
            let key = member.key
            if key == "#text" || key == "rdfs:comment" || key == "comment" || key == "@context" { continue }
            if key == "bizTransaction" || key == "source" || key == "destination" { keepsSourceOrder = true }
            let name = context.expandPrefix(key, isValue: false)
            // Every node here is new and owned by this tree alone, so it is renamed in
            // place rather than copied (the reference builds `(name, text, children)` anew).
            if case .array(let elements) = member.value {
                for element in elements {
                    let n = node(from: element)
                    n.name = name
                    children.append(.node(n))
                }
            } else {
                let child = node(from: member.value)
                child.name = name
                children.append(.node(child))
            }
        }
        // The reference sorts members as Python tuples unless the object holds a
        // bizTransaction, source or destination member; pair selection below depends on it.
        if !keepsSourceOrder { sortAsPythonTuples(&children) }
        return ReferenceHashNode(name, text, children)
    }

    /// Sorts new nodes (no pairs yet) as `children.sort { referenceTupleOrder($0, $1) < 0 }` would (stably).
    /// Each node is first keyed by the first 8 bytes of its name, big-endian and zero-padded:
    /// when two keys differ they order the names as bytes do, so only nodes whose names
    /// share those 8 bytes are compared in full (member sorts were 7% of capture CPU).
    func sortAsPythonTuples(_ items: inout [ReferenceHashItem]) {
        guard items.count > 1 else { return }
        var keys: [(prefix: UInt64, index: Int)] = []
        keys.reserveCapacity(items.count)
        for (index, item) in items.enumerated() {
            var prefix: UInt64 = 0
            if case .node(let node) = item {
                var name = node.name
                name.withUTF8 { bytes in
                    for i in 0..<8 { prefix = prefix << 8 | UInt64(i < bytes.count ? bytes[i] : 0) }
                }
            }
            keys.append((prefix, index))
        }
        keys.sort { a, b in
            a.prefix != b.prefix ? a.prefix < b.prefix : referenceTupleOrder(items[a.index], items[b.index]) < 0
        }
        items = keys.map { items[$0.index] }
    }

    // MARK: - XML/JSON structure correction (`deep_structure_correction`)

    ///
    /// Works in place: every node of the tree is new and referenced once (see
    /// `node(fromObject:)`), so nothing else can observe the change.
    func correctStructure(_ node: ReferenceHashNode) -> ReferenceHashNode {
        guard !node.children.isEmpty else {
            // A leaf: only the renaming below applies ("quantity" needs children).
            switch node.name {
            case "inputEPC", "outputEPC": node.name = "epc"
            case "inputQuantity", "outputQuantity", "childQuantity": node.name = "quantityElement"
            default: break
            }
            return node
        }
        var level = node.children
        var listOrder: [String] = []
        var lists: [String: [ReferenceHashNode]] = [:]
        level.removeAll { item in
            guard let n = item.node, n.name.utf8.count > 4, n.name.hasSuffix("List") else { return false }
            if lists[n.name] == nil { listOrder.append(n.name) }
            let listName = n.name
            n.name = String(listName.dropLast(4))
            lists[listName, default: []].append(n)
            return true
        }
        for listName in listOrder {
            let elements = lists[listName]!
            if listName == "sourceList" || listName == "destinationList" || listName == "bizTransactionList" {
                let pairs: [ReferenceHashItem] = elements.compactMap { element in
                    guard let first = element.children.first?.node else { return nil }
                    return .pair(first, element.children.count > 1 ? element.children[1].node : nil)
                }
                level.append(.node(ReferenceHashNode(listName, "", pairs)))
            } else {
                level.append(.node(ReferenceHashNode(listName, "", elements.map { .node($0) })))
            }
        }
        var childEPCs: [ReferenceHashItem] = []
        level.removeAll { item in
            guard let n = item.node, n.name == "childEPCs" else { return false }
            childEPCs.append(.node(ReferenceHashNode("epc", n.text)))
            return true
        }
        if !childEPCs.isEmpty { level.append(.node(ReferenceHashNode("childEPCs", "", childEPCs))) }
        let corrected: [ReferenceHashItem] = level.map { item in
            guard let n = item.node else { return item }
            if n.name == "sourceList" || n.name == "destinationList" || n.name == "bizTransactionList" { return item }
            return .node(correctStructure(n))
        }
        var name = node.name
        switch name {
        case "inputEPC", "outputEPC": name = "epc"
        case "inputQuantity", "outputQuantity", "childQuantity": name = "quantityElement"
        case "quantity" where !corrected.isEmpty: name = "quantityElement"
        default: break
        }
        node.name = name
        node.children = corrected
        return node
    }

    // MARK: - Pre-hash string

    /// `_recurse_through_children_in_order`: consumes matched leaf children from `list`.
    ///
    /// One pass over `list` finds each child's field in `order` (the reference scans the list
    /// once per field: the same children in the same order, since field names are distinct);
    /// matched leaves are removed at the end, which is what removing them field by field did.
    func ordered(_ list: inout [ReferenceHashItem], _ order: HashOrder.Level) -> String {
        var prehash = ""
        let extensions = gatherUserExtensions(&list)
        var field = [Int](repeating: -1, count: list.count)
        var matched = 0
        for (i, item) in list.enumerated() {
            if let child = item.node, let index = order.index[child.name] {
                field[i] = index
                matched += 1
            }
        }
        if matched > 0 {
            var consumed = [Bool](repeating: false, count: list.count)
            var values: [String] = []
            for (index, entry) in order.fields.enumerated() where !entry.isTypedList {
                values.removeAll(keepingCapacity: true)
                for i in list.indices where field[i] == index {
                    guard let child = list[i].node else { continue }
                    let text = childPrehash(child, entry.subOrder)
                    if !text.isEmpty { values.append(text) }
                    if child.children.isEmpty { consumed[i] = true }
                }
                guard !values.isEmpty else { continue }
                values.sort(by: referenceCodePointLess)
                prehash += values.joined()
            }
            if consumed.contains(true) {
                var i = 0
                list.removeAll { _ in defer { i += 1 }; return consumed[i] }
            }
        }
        if !extensions.isEmpty { prehash += generic(extensions) }
        return prehash
    }

    /// `_gather_user_extensions`: below the event level, namespaced members of a structured
    /// field are taken out and appended after its standard sub-fields.
    func gatherUserExtensions(_ list: inout [ReferenceHashItem]) -> [ReferenceHashItem] {
        guard list.count > 1 else { return [] }
        for item in list {
            if let n = item.node, n.name.containsBytes("eventTime") || n.name.containsBytes("action") { return [] }
        }
        var extensions: [ReferenceHashItem] = []
        list.removeAll { item in
            guard let n = item.node, n.name.containsBytes("{"), n.name.containsBytes("/}") else { return false }
            extensions.append(item)
            return true
        }
        return extensions
    }

    /// `_child_to_pre_hash_string`.
    func childPrehash(_ child: ReferenceHashNode, _ subOrder: HashOrder.Level?) -> String {
        var grandchildren = ""
        if let subOrder { grandchildren = ordered(&child.children, subOrder) }
        var text = ""
        if !child.text.isEmpty {
            text = PythonText.strip(child.text)
            if child.name.lowercasedContains("time") && !child.name.lowercasedContains("offset") {
                text = Timestamp.parse(text).map(\.canonicalUTC) ?? text
            } else {
                text = canonicalValue(text)
            }
            if !text.isEmpty { text = "=" + text }
        }
        if text.isEmpty && grandchildren.isEmpty { return "" }
        return child.name + text + grandchildren
    }

    /// `_generic_child_list_to_prehash_string`.
    func generic(_ children: [ReferenceHashItem]) -> String {
        var values: [String] = []
        values.reserveCapacity(children.count)
        var sortable = true
        for item in children {
            switch item {
            case .pair(let first, let second):
                values.append(generic(second.map { [.node(first), .node($0)] } ?? [.node(first)]))
            case .node(let child):
                if child.name == "bizTransaction" || child.name == "source" || child.name == "destination" { sortable = false }
                var text = PythonText.strip(child.text)
                if !text.isEmpty { text = "=" + canonicalValue(text) }
                values.append(child.name + text + generic(child.children))
            }
        }
        if values.count > 1 && sortable { values.sort(by: referenceCodePointLess) }
        return values.joined()
    }

    /// `_canonize_value`: web vocabulary for old CBV URNs, numbers, GS1 Digital Link.
    func canonicalValue(_ text: String) -> String {
        let vocabulary = CBVVocabulary.webVocabularyFromURN(text)
        let numeric = PythonNumber.canonicalIfNumeric(vocabulary) ?? vocabulary
        return memo.normalize(numeric) ?? numeric
    }
}

/// Orders strings by Unicode code point, as Python compares `str` (UTF-8 byte order is
/// code point order).
@inline(__always) func referenceCodePointLess(_ a: String, _ b: String) -> Bool {
    codePointOrder(a, b) < 0
}

/// Python's ordering of `(name, text, children)` tuples, which the reference relies on
/// when it sorts object members, as negative, zero or positive (each string is compared
/// once rather than for inequality and then for order).
func referenceTupleOrder(_ a: ReferenceHashItem, _ b: ReferenceHashItem) -> Int {
    guard let x = a.node, let y = b.node else { return 0 }
    let byName = codePointOrder(x.name, y.name)
    if byName != 0 { return byName }
    let byText = codePointOrder(x.text, y.text)
    if byText != 0 { return byText }
    for (p, q) in zip(x.children, y.children) {
        let byChild = referenceTupleOrder(p, q)
        if byChild != 0 { return byChild }
    }
    return x.children.count < y.children.count ? -1 : (x.children.count > y.children.count ? 1 : 0)
}

