/// Builds the CBV 2.0 pre-hash string of one event (the algorithm is described at
/// `EventHash`).
///
/// ## How it works
/// The reference generator turns the event into a tree of `(name, text, children)` tuples,
/// corrects its structure, and writes it out with sorts at several levels. This builder
/// does the same steps in the same order, on flat arrays rather than objects and strings:
///
/// - **Names are symbols.** Every name (a member key after prefix expansion, an object's
///   `type`, or a name the corrections introduce) is interned once per builder in a
///   `ByteMap`; what the algorithm asks of a name (is it `childEPCs`, does it end in
///   `List`, does it contain `time`, its position in each level of `HashOrder`) is worked
///   out at interning and kept as flags.
/// - **Nodes are rows** of `nodes` (name symbol, text span, children span); texts live in
///   one byte arena, children lists in one `Int32` arena (a value ≥ 0 is a node, a negative
///   value `~p` is the (type, value) pair `pairs[p]`). Changing a node's children writes a
///   new span at the end of the arena; all three arenas are emptied, keeping their
///   capacity, before each event.
/// - **Output is bytes.** Values are written straight into `out`; where the reference sorts
///   a list of strings and joins them, the values are written one after another, their
///   ranges kept on a stack, and the region rewritten in sorted order (byte order of UTF-8
///   is code point order, which is how Python compares `str`).
/// - **Canonical values are remembered** per builder by their bytes (`ValueMemo`), since
///   read points, locations, vocabulary and classes repeat across a document's events.
///
/// The result is byte for byte the string the tree-of-strings builder made (kept in the
/// tests as `ReferencePrehashBuilder`, the oracle `PrehashBuilderTests` compares against).
///
/// Not for concurrent use: one builder per document and thread.
public struct PrehashBuilder {
    let context: HashContext
    let memo: NormalizeMemo
    /// The workspace, in a box so that building mutates it in place through a `let`
    /// builder; a struct, so that the compiler checks exclusive access to its many arrays
    /// at compile time rather than on every access at run time (as a class's would be).
    private let box: Box

    private final class Box {
        var work: PrehashWorkspace
        init(_ work: PrehashWorkspace) { self.work = work }
    }

    public init(context: HashContext) {
        self.context = context
        memo = NormalizeMemo()
        box = Box(PrehashWorkspace(context: context, memo: memo))
    }

    /// `UIMReference.canonical`, remembered for this document.
    func canonicalUIM(_ identifier: String) -> String {
        memo.normalize(identifier) ?? identifier
    }

    /// The CBV 2.0 pre-hash string of `event` (whose numbers must be JSON number text, as
    /// every parsed object's are).
    public func prehash(of event: JSONObject) -> String {
        let tape = try! JSONTape.of(event)
        return box.work.prehash(of: tape.root, in: tape).prehash
    }

    /// The pre-hash string of `event` and its hash ID, hashing the bytes as built.
    func prehashAndID(of event: Int, in tape: JSONTape) -> (prehash: String, hashID: String) {
        box.work.prehash(of: event, in: tape)
    }

    /// The hash ID of `event` alone (the pre-hash bytes are hashed, never made a string).
    func hashID(of event: Int, in tape: JSONTape) -> String {
        box.work.hashID(of: event, in: tape)
    }
}

/// What the algorithm needs to know about a name, worked out once when it is interned.
struct PrehashSymbol {
    /// The name's first 8 bytes, big-endian, zero-padded: orders names as their bytes do
    /// whenever two prefixes differ.
    let prefix: UInt64
    let flags: Flags
    /// For a name ending in `List` (longer than 4): the symbol of the name without it.
    let listElement: Int32
    /// For `inputEPC`/`outputEPC` (→ `epc`) and `inputQuantity`/`outputQuantity`/
    /// `childQuantity` (→ `quantityElement`): the symbol the node is renamed to, else −1.
    let renamed: Int32
    /// Where the name's position in each of `HashOrder.levels` starts in `fieldPositions`.
    let fieldsAt: Int32

    struct Flags: OptionSet {
        let rawValue: UInt16
        /// `len(name) > 4 and name.endswith("List")`: grouped by the structure correction.
        static let list = Flags(rawValue: 1 << 0)
        /// `sourceList`, `destinationList`, `bizTransactionList`: elements become pairs.
        static let typedList = Flags(rawValue: 1 << 1)
        static let childEPCs = Flags(rawValue: 1 << 2)
        /// `bizTransaction`, `source`, `destination`: a list holding one keeps source order.
        static let keepsOrder = Flags(rawValue: 1 << 3)
        /// `quantity`: renamed `quantityElement` when it has children.
        static let quantity = Flags(rawValue: 1 << 4)
        /// Contains `eventTime` or `action`: its list is the event level (no extensions gathered).
        static let eventLevelMarker = Flags(rawValue: 1 << 5)
        /// Contains `{` and `/}`: a namespaced user extension.
        static let userExtension = Flags(rawValue: 1 << 6)
        /// Lower-cased, contains `time` and not `offset`: its value is a timestamp.
        static let time = Flags(rawValue: 1 << 7)
        /// `recordTime`, `eventID`, `type`, `errorDeclaration`: left out at the event level.
        static let ignoredAtEvent = Flags(rawValue: 1 << 8)
    }
}

/// The builder's state: symbol table, arenas and output, reused across events.
struct PrehashWorkspace {
    struct Span {
        var start: Int32
        var count: Int32
        static let empty = Span(start: 0, count: 0)
    }

    struct Node {
        var name: Int32
        var text: Span
        var kids: Span
    }

    let context: HashContext
    let memo: NormalizeMemo
    private var values = ValueMemo()

    // Symbols, for the builder's lifetime.
    private var symbolTable = ByteMap()
    private(set) var symbols: [PrehashSymbol] = []
    private var fieldPositions: [Int8] = []
    /// Member key (as written) → its symbol, or −1 for keys the reference skips.
    private var keyTable = ByteMap()
    private var keySymbols: [Int32] = []
    private var keyKeepsOrder: [Bool] = []
    private var emptySymbol: Int32 = 0
    private var epcSymbol: Int32 = 0
    private var childEPCsSymbol: Int32 = 0
    private var quantityElementSymbol: Int32 = 0

    // Per event.
    private var texts: [UInt8] = []
    private var nodes: [Node] = []
    private var kids: [Int32] = []
    private var pairs: [(first: Int32, second: Int32)] = []
    private(set) var out: [UInt8] = []
    /// (start, end) offsets in `out` of the values of the sorts under way, innermost last.
    private var ranges: [Int] = []
    private var scratch: [UInt8] = []
    /// Emptied arrays kept with their capacity for the temporary lists of the recursive
    /// steps below (each takes one and gives it back before returning), so that building
    /// allocates nothing once a document's first events have run (it was ~30 allocations
    /// per event).
    private var idLists = ArrayPool<Int32>()
    private var matchLists = ArrayPool<(field: Int, index: Int)>()
    private var flagLists = ArrayPool<Bool>()
    private var orderLists = ArrayPool<Int>()

    init(context: HashContext, memo: NormalizeMemo) {
        self.context = context
        self.memo = memo
        emptySymbol = intern("")
        epcSymbol = intern("epc")
        childEPCsSymbol = intern("childEPCs")
        quantityElementSymbol = intern("quantityElement")
    }

    // MARK: - Symbols

    /// The symbol of `name`, interned on first sight.
    mutating func intern(_ name: String) -> Int32 {
        let (index, inserted) = symbolTable.insert(name)
        if !inserted { return Int32(index) }
        // Reserve the slot first: working out the flags may intern other names.
        symbols.append(PrehashSymbol(prefix: 0, flags: [], listElement: -1, renamed: -1, fieldsAt: 0))
        var prefix: UInt64 = 0
        var copy = name
        copy.withUTF8 { bytes in
            for i in 0..<8 { prefix = prefix << 8 | UInt64(i < bytes.count ? bytes[i] : 0) }
        }
        var flags: PrehashSymbol.Flags = []
        var listElement: Int32 = -1
        if name.utf8.count > 4 && name.hasSuffix("List") {
            flags.insert(.list)
            listElement = intern(String(name.dropLast(4)))
        }
        switch name {
        case "sourceList", "destinationList", "bizTransactionList": flags.insert(.typedList)
        case "childEPCs": flags.insert(.childEPCs)
        case "bizTransaction", "source", "destination": flags.insert(.keepsOrder)
        case "quantity": flags.insert(.quantity)
        case "recordTime", "eventID", "type", "errorDeclaration": flags.insert(.ignoredAtEvent)
        default: break
        }
        if name.containsBytes("eventTime") || name.containsBytes("action") { flags.insert(.eventLevelMarker) }
        if name.containsBytes("{") && name.containsBytes("/}") { flags.insert(.userExtension) }
        if name.lowercasedContains("time") && !name.lowercasedContains("offset") { flags.insert(.time) }
        var renamed: Int32 = -1
        switch name {
        case "inputEPC", "outputEPC": renamed = intern("epc")
        case "inputQuantity", "outputQuantity", "childQuantity": renamed = intern("quantityElement")
        default: break
        }
        let fieldsAt = Int32(fieldPositions.count)
        for level in HashOrder.levels {
            fieldPositions.append(Int8(level.names.firstIndex { codePointOrder($0, name) == 0 } ?? -1))
        }
        symbols[index] = PrehashSymbol(prefix: prefix, flags: flags, listElement: listElement, renamed: renamed, fieldsAt: fieldsAt)
        return Int32(index)
    }

    @inline(__always) func field(_ symbol: Int32, inLevel level: Int) -> Int {
        Int(fieldPositions[Int(symbols[Int(symbol)].fieldsAt) + level])
    }

    @inline(__always) func flags(_ symbol: Int32) -> PrehashSymbol.Flags {
        symbols[Int(symbol)].flags
    }

    /// A member key's symbol (−1: the reference skips the member) and whether it makes the
    /// object keep its members in source order.
    private mutating func keySymbol(_ keyBytes: UnsafeBufferPointer<UInt8>) -> (symbol: Int32, keepsOrder: Bool) {
        if let index = keyTable.find(keyBytes) { return (keySymbols[index], keyKeepsOrder[index]) }
        _ = keyTable.insert(keyBytes)
        let key = String(decoding: keyBytes, as: UTF8.self)
        let skipped = key == "#text" || key == "rdfs:comment" || key == "comment" || key == "@context"
        let symbol = skipped ? -1 : intern(context.expandPrefix(key, isValue: false))
        let keepsOrder = !skipped && (key == "bizTransaction" || key == "source" || key == "destination")
        keySymbols.append(symbol)
        keyKeepsOrder.append(keepsOrder)
        return (symbol, keepsOrder)
    }

    // MARK: - The event

    /// The pre-hash string of `event` and its hash ID. (Called through the builder's box:
    /// reading `out` from outside would copy the whole workspace first.)
    mutating func prehash(of event: Int, in tape: JSONTape) -> (prehash: String, hashID: String) {
        build(event, in: tape)
        return (String(decoding: out, as: UTF8.self), EventHash.hashID(prehashBytes: out))
    }

    mutating func hashID(of event: Int, in tape: JSONTape) -> String {
        build(event, in: tape)
        return EventHash.hashID(prehashBytes: out)
    }

    /// Writes the pre-hash of `event` into `out`.
    mutating func build(_ event: Int, in tape: JSONTape) {
        texts.removeAll(keepingCapacity: true)
        nodes.removeAll(keepingCapacity: true)
        kids.removeAll(keepingCapacity: true)
        pairs.removeAll(keepingCapacity: true)
        out.removeAll(keepingCapacity: true)
        ranges.removeAll(keepingCapacity: true)

        let root = node(fromObject: event, in: tape)
        correctStructure(root)
        out.append(contentsOf: "eventType=".utf8)
        appendName(nodes[Int(root)].name)
        ordered(root, level: 0)
        let all = nodes[Int(root)].kids
        let restStart = Int32(kids.count)
        for k in 0..<Int(all.count) {
            let item = kids[Int(all.start) + k]
            if item < 0 || !flags(nodes[Int(item)].name).contains(.ignoredAtEvent) { kids.append(item) }
        }
        let rest = Span(start: restStart, count: Int32(kids.count) - restStart)
        if rest.count > 0 { generic(rest) }
    }

    // MARK: - JSON to tree (`_json_to_py`)

    private mutating func addNode(_ name: Int32, _ text: Span, _ children: Span = .empty) -> Int32 {
        nodes.append(Node(name: name, text: text, kids: children))
        return Int32(nodes.count - 1)
    }

    private mutating func addKids(_ items: [Int32]) -> Span {
        let start = Int32(kids.count)
        kids.append(contentsOf: items)
        return Span(start: start, count: Int32(items.count))
    }

    private mutating func addText(_ bytes: UnsafeBufferPointer<UInt8>) -> Span {
        let start = Int32(texts.count)
        texts.append(contentsOf: bytes)
        return Span(start: start, count: Int32(bytes.count))
    }

    private mutating func addText(_ text: String) -> Span {
        var text = text
        return text.withUTF8 { addText($0) }
    }

    /// A string value's text: the document's bare-word replacement, then prefix expansion
    /// (`expandPrefix(bare(s), isValue: true)`), written to the text arena.
    private mutating func valueText(_ raw: UnsafeBufferPointer<UInt8>) -> Span {
        if let word = context.bareWordIndex.count == 0 ? nil : context.bareWordIndex.find(raw) {
            let replacement = context.bareWordBytes[word]
            return replacement.withUnsafeBufferPointer { expandValuePrefix($0) }
        }
        return expandValuePrefix(raw)
    }

    private mutating func expandValuePrefix(_ bytes: UnsafeBufferPointer<UInt8>) -> Span {
        if context.prefixIndex.count > 0, let colon = bytes.firstIndex(of: UInt8(ascii: ":")),
           let prefix = context.prefixIndex.find(UnsafeBufferPointer(rebasing: bytes[..<colon])) {
            let start = Int32(texts.count)
            texts.append(contentsOf: context.prefixValueBytes[prefix])
            texts.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[(colon + 1)...]))
            return Span(start: start, count: Int32(texts.count) - start)
        }
        return addText(bytes)
    }

    /// A name from an object's `type` (bare-word replacement only, as the reference does).
    private mutating func typeName(_ bytes: UnsafeBufferPointer<UInt8>) -> Int32 {
        if context.bareWordIndex.count > 0, let word = context.bareWordIndex.find(bytes) {
            return intern(String(decoding: context.bareWordBytes[word], as: UTF8.self))
        }
        return intern(String(decoding: bytes, as: UTF8.self))
    }

    private mutating func node(from value: Int, in tape: JSONTape) -> Int32 {
        switch tape.kind(value) {
        case .object: return node(fromObject: value, in: tape)
        case .array:
            var items = idLists.take()
            tape.forEachElement(value) { items.append(node(from: $0, in: tape)) }
            defer { idLists.give(items) }
            return addNode(emptySymbol, .empty, addKids(items))
        case .string: return addNode(emptySymbol, tape.withStringBytes(value) { valueText($0) })
        case .number:
            let text = tape.bytes.withUnsafeBufferPointer { String(decoding: UnsafeBufferPointer(rebasing: $0[tape.span(value)]), as: UTF8.self) }
            return addNode(emptySymbol, addText(PythonNumber.str(ofJSONNumber: text)))
        case .true: return addNode(emptySymbol, addText("True"))
        case .false: return addNode(emptySymbol, addText("False"))
        case .null: return addNode(emptySymbol, addText("None"))
        }
    }

    private mutating func node(fromObject object: Int, in tape: JSONTape) -> Int32 {
        var name = emptySymbol
        var text = Span.empty
        if let type = tape.member(object, "type"), tape.kind(type) == .string { name = tape.withStringBytes(type) { typeName($0) } }
        if let t = tape.member(object, "#text"), tape.kind(t) == .string {
            text = tape.withStringBytes(t) { raw -> Span in
                if context.bareWordIndex.count > 0, let word = context.bareWordIndex.find(raw) {
                    let replacement = context.bareWordBytes[word]
                    return replacement.withUnsafeBufferPointer { addText($0) }
                }
                return addText(raw)
            }
        }
        var children = idLists.take()
        defer { idLists.give(children) }
        var keepsSourceOrder = false
        tape.forEachMember(object) { key, value in
            let (symbol, keepsOrder) = tape.withStringBytes(key) { keySymbol($0) }
            if symbol < 0 { return }
            if keepsOrder { keepsSourceOrder = true }
            if tape.kind(value) == .array {
                tape.forEachElement(value) { element in
                    let child = node(from: element, in: tape)
                    nodes[Int(child)].name = symbol
                    children.append(child)
                }
            } else {
                let child = node(from: value, in: tape)
                nodes[Int(child)].name = symbol
                children.append(child)
            }
        }
        // The reference sorts members as Python tuples unless the object holds a
        // bizTransaction, source or destination member; pair selection depends on it.
        if !keepsSourceOrder && children.count > 1 { sortAsPythonTuples(&children) }
        return addNode(name, text, addKids(children))
    }

    /// Sorts fresh nodes by their `(name, text, children)` tuples. Equal tuples are equal
    /// subtrees, so which of two equal ones comes first cannot change the output.
    /// The comparison reads the arrays it needs through `TupleOrder`: a closure reading the
    /// workspace itself made a copy of all of it (every array retained and released).
    private func sortAsPythonTuples(_ items: inout [Int32]) {
        let order = TupleOrder(nodes: nodes, symbols: symbols, symbolTable: symbolTable, texts: texts, kids: kids)
        items.sort { a, b in
            let x = order.nodes[Int(a)].name, y = order.nodes[Int(b)].name
            if x != y {
                let p = order.symbols[Int(x)].prefix, q = order.symbols[Int(y)].prefix
                if p != q { return p < q }
            }
            return order.compare(a, b) < 0
        }
    }

    // MARK: - XML/JSON structure correction (`deep_structure_correction`)

    private mutating func correctStructure(_ node: Int32) {
        let span = nodes[Int(node)].kids
        let own = symbols[Int(nodes[Int(node)].name)]
        guard span.count > 0 else {
            // A leaf: only the renaming applies ("quantity" needs children).
            if own.renamed >= 0 { nodes[Int(node)].name = own.renamed }
            return
        }
        var level = idLists.take()
        // The list members in order of appearance, and for each the index of its list's
        // name in `listNames` (names in order of first appearance).
        var listNames = idLists.take()
        var members = idLists.take()
        var memberList = idLists.take()
        defer {
            idLists.give(level)
            idLists.give(listNames)
            idLists.give(members)
            idLists.give(memberList)
        }
        for k in 0..<Int(span.count) {
            let item = kids[Int(span.start) + k]
            guard item >= 0 else { level.append(item); continue }
            let name = nodes[Int(item)].name
            let symbol = symbols[Int(name)]
            guard symbol.flags.contains(.list) else { level.append(item); continue }
            nodes[Int(item)].name = symbol.listElement
            let at = listNames.firstIndex(of: name) ?? { listNames.append(name); return listNames.count - 1 }()
            members.append(item)
            memberList.append(Int32(at))
        }
        for (at, listName) in listNames.enumerated() {
            let start = Int32(kids.count)
            if flags(listName).contains(.typedList) {
                for (element, list) in zip(members, memberList) where list == at {
                    let children = nodes[Int(element)].kids
                    guard children.count > 0 else { continue }
                    let first = kids[Int(children.start)]
                    guard first >= 0 else { continue }
                    var second: Int32 = -1
                    if children.count > 1 { second = max(kids[Int(children.start) + 1], -1) }
                    pairs.append((first, second))
                    kids.append(~Int32(pairs.count - 1))
                }
            } else {
                for (element, list) in zip(members, memberList) where list == at { kids.append(element) }
            }
            level.append(addNode(listName, .empty, Span(start: start, count: Int32(kids.count) - start)))
        }
        var childEPCs = idLists.take()
        defer { idLists.give(childEPCs) }
        level.removeAll { item in
            guard item >= 0, flags(nodes[Int(item)].name).contains(.childEPCs) else { return false }
            childEPCs.append(addNode(epcSymbol, nodes[Int(item)].text))
            return true
        }
        if !childEPCs.isEmpty { level.append(addNode(childEPCsSymbol, .empty, addKids(childEPCs))) }
        for item in level where item >= 0 && !flags(nodes[Int(item)].name).contains(.typedList) {
            correctStructure(item)
        }
        if own.renamed >= 0 {
            nodes[Int(node)].name = own.renamed
        } else if own.flags.contains(.quantity) && !level.isEmpty {
            nodes[Int(node)].name = quantityElementSymbol
        }
        nodes[Int(node)].kids = addKids(level)
    }

    // MARK: - Pre-hash string

    /// `_recurse_through_children_in_order`: writes the standard fields of `owner`'s
    /// children in `level`'s order, then its gathered user extensions; matched leaves and
    /// the extensions leave `owner`'s children.
    private mutating func ordered(_ owner: Int32, level: Int) {
        let span = nodes[Int(owner)].kids
        var list = idLists.take()
        var extensions = idLists.take()
        var matched = matchLists.take()
        defer {
            idLists.give(list)
            idLists.give(extensions)
            matchLists.give(matched)
        }
        for k in 0..<Int(span.count) { list.append(kids[Int(span.start) + k]) }
        gatherUserExtensions(&list, into: &extensions)
        // (field position, list position) of every child with a field in this level.
        for (i, item) in list.enumerated() where item >= 0 {
            let position = field(nodes[Int(item)].name, inLevel: level)
            if position >= 0 && !HashOrder.levels[level].typed[position] { matched.append((position, i)) }
        }
        var changed = !extensions.isEmpty
        if !matched.isEmpty {
            matched.sort { $0.field != $1.field ? $0.field < $1.field : $0.index < $1.index }
            var consumed = flagLists.take()
            defer { flagLists.give(consumed) }
            consumed.append(contentsOf: repeatElement(false, count: list.count))
            var g = 0
            while g < matched.count {
                let position = matched[g].field
                let sub = HashOrder.levels[level].sub[position]
                let regionStart = out.count
                let base = ranges.count
                while g < matched.count && matched[g].field == position {
                    let child = list[matched[g].index]
                    let valueStart = out.count
                    childPrehash(child, subLevel: sub)
                    if out.count > valueStart { ranges.append(valueStart); ranges.append(out.count) }
                    if nodes[Int(child)].kids.count == 0 { consumed[matched[g].index] = true }
                    g += 1
                }
                sortRegion(from: regionStart, rangesFrom: base)
            }
            if consumed.contains(true) {
                var i = 0
                list.removeAll { _ in defer { i += 1 }; return consumed[i] }
                changed = true
            }
        }
        if changed { nodes[Int(owner)].kids = addKids(list) }
        if !extensions.isEmpty { generic(addKids(extensions)) }
    }

    /// `_gather_user_extensions`: below the event level, namespaced members of a structured
    /// field are taken out and appended after its standard sub-fields.
    private func gatherUserExtensions(_ list: inout [Int32], into extensions: inout [Int32]) {
        guard list.count > 1 else { return }
        for item in list where item >= 0 && flags(nodes[Int(item)].name).contains(.eventLevelMarker) { return }
        list.removeAll { item in
            guard item >= 0, flags(nodes[Int(item)].name).contains(.userExtension) else { return false }
            extensions.append(item)
            return true
        }
    }

    /// `_child_to_pre_hash_string`: `name=value` then the sub-fields, or nothing when both
    /// are empty. (The reference writes the sub-fields first; the value does not depend on them.)
    private mutating func childPrehash(_ child: Int32, subLevel: Int) {
        let start = out.count
        let node = nodes[Int(child)]
        appendName(node.name)
        let valueStart = out.count
        if node.text.count > 0 {
            appendCanonical(node.text, asTime: flags(node.name).contains(.time), equalsIfEmpty: false)
        }
        let hasValue = out.count > valueStart
        let subStart = out.count
        if subLevel >= 0 { ordered(child, level: subLevel) }
        if !hasValue && out.count == subStart { out.removeSubrange(start...) }
    }

    /// `_generic_child_list_to_prehash_string`: every item as `name=value` followed by its
    /// children, sorted unless one is a bizTransaction, source or destination.
    private mutating func generic(_ items: Span) {
        let regionStart = out.count
        let base = ranges.count
        var sortable = true
        for k in 0..<Int(items.count) {
            let item = kids[Int(items.start) + k]
            let valueStart = out.count
            if item < 0 {
                let pair = pairs[Int(~item)]
                let start = Int32(kids.count)
                kids.append(pair.first)
                if pair.second >= 0 { kids.append(pair.second) }
                generic(Span(start: start, count: Int32(kids.count) - start))
            } else {
                let node = nodes[Int(item)]
                if flags(node.name).contains(.keepsOrder) { sortable = false }
                appendName(node.name)
                if node.text.count > 0 { appendCanonical(node.text, asTime: false, equalsIfEmpty: true) }
                if node.kids.count > 0 { generic(node.kids) }
            }
            ranges.append(valueStart)
            ranges.append(out.count)
        }
        if sortable { sortRegion(from: regionStart, rangesFrom: base) } else { ranges.removeSubrange(base...) }
    }

    /// Rewrites `out[regionStart...]`, made of the values whose ranges are on the stack from
    /// `base`, with the values in code point order; pops those ranges.
    private mutating func sortRegion(from regionStart: Int, rangesFrom base: Int) {
        let count = (ranges.count - base) / 2
        defer { ranges.removeSubrange(base...) }
        guard count > 1 else { return }
        var order = orderLists.take()
        defer { orderLists.give(order) }
        order.append(contentsOf: 0..<count)
        out.withUnsafeBufferPointer { o in
            let p = o.baseAddress!
            order.sort { a, b in
                let s = ranges[base + 2 * a], e = ranges[base + 2 * a + 1]
                let t = ranges[base + 2 * b], f = ranges[base + 2 * b + 1]
                return compareBytes(p + s, e - s, p + t, f - t) < 0
            }
        }
        if order.enumerated().allSatisfy({ $0.offset == $0.element }) { return }
        scratch.removeAll(keepingCapacity: true)
        for k in order { scratch.append(contentsOf: out[ranges[base + 2 * k]..<ranges[base + 2 * k + 1]]) }
        out.replaceSubrange(regionStart..., with: scratch)
    }

    private mutating func appendName(_ symbol: Int32) {
        symbolTable.appendKey(Int(symbol), to: &out)
    }

    /// Writes `=` and the canonical form of a node's text: stripped like Python's
    /// `str.strip()`, then a timestamp in UTC for time fields, else `_canonize_value`.
    /// Nothing when the stripped text is empty; nothing either when the canonical form is
    /// empty, unless `equalsIfEmpty` (the generic writer then keeps the `=`).
    private mutating func appendCanonical(_ text: Span, asTime: Bool, equalsIfEmpty: Bool) {
        let (answer, blank) = values.canonical(texts, Int(text.start)..<Int(text.start + text.count), asTime: asTime, memo: memo)
        if blank { return }
        if let answer {
            if !answer.isEmpty || equalsIfEmpty { out.append(UInt8(ascii: "=")) }
            out.append(contentsOf: answer)
        } else {
            // The text is its own canonical form (and not empty).
            out.append(UInt8(ascii: "="))
            out.append(contentsOf: texts[Int(text.start)..<Int(text.start + text.count)])
        }
    }
}

/// Canonical values by their bytes, for one builder: a direct-mapped cache per kind (time
/// fields and other values), each slot answering only for the same bytes.
struct ValueMemo {
    private struct Entry {
        let key: [UInt8]
        /// nil: the key is its own canonical form.
        let answer: [UInt8]?
        /// The key is nothing but white space (`str.strip()` leaves nothing).
        let blank: Bool
    }

    static let slots = 4096
    private var entries = [Entry?](repeating: nil, count: 2 * ValueMemo.slots)

    /// The canonical form of a non-empty `bytes` (nil when that is `bytes` itself), and
    /// whether `bytes` strip to nothing.
    mutating func canonical(_ all: [UInt8], _ range: Range<Int>, asTime: Bool, memo: NormalizeMemo) -> (answer: [UInt8]?, blank: Bool) {
        all.withUnsafeBufferPointer { canonical(UnsafeBufferPointer(rebasing: $0[range]), asTime: asTime, memo: memo) }
    }

    private mutating func canonical(_ bytes: UnsafeBufferPointer<UInt8>, asTime: Bool, memo: NormalizeMemo) -> (answer: [UInt8]?, blank: Bool) {
        // Most values are canonical Digital Link URIs (see `isCanonicalAsIs`: nothing to
        // strip, no vocabulary or number rewrite, a fixed point of the normaliser); the
        // identifiers are nearly all new, so caching them would only evict what repeats.
        if !asTime && DigitalLinkNormalizer.isCanonicalAsIs(bytes) { return (nil, false) }
        let slot = (Int(truncatingIfNeeded: NormalizeMemo.hash(bytes)) & (Self.slots - 1)) + (asTime ? Self.slots : 0)
        if let entry = entries[slot], entry.key.count == bytes.count,
           entry.key.withUnsafeBufferPointer({ compareBytes($0.baseAddress, $0.count, bytes.baseAddress, bytes.count) == 0 }) {
            return (entry.answer, entry.blank)
        }
        let text = String(decoding: bytes, as: UTF8.self)
        let stripped = PythonText.strip(text)
        let value: String
        if asTime {
            value = Timestamp.parse(stripped, asReferenceHasher: true).map(\.canonicalUTC) ?? stripped
        } else {
            let vocabulary = CBVVocabulary.webVocabularyFromURN(stripped)
            let numeric = PythonNumber.canonicalIfNumeric(vocabulary) ?? vocabulary
            value = memo.normalize(numeric) ?? numeric
        }
        var canonical = value
        let same = canonical.withUTF8 { compareBytes($0.baseAddress, $0.count, bytes.baseAddress, bytes.count) == 0 }
        let answer: [UInt8]? = same ? nil : Array(value.utf8)
        entries[slot] = Entry(key: Array(bytes), answer: answer, blank: stripped.isEmpty)
        return (answer, stripped.isEmpty)
    }
}

/// Python's order of two nodes' `(name, text, children)` tuples, over the workspace arrays
/// it reads (see `PrehashWorkspace.sortAsPythonTuples`). A class: the sort's comparator
/// copied a struct of these nine arrays at every comparison (a retain and a release each).
private final class TupleOrder {
    let nodes: [PrehashWorkspace.Node]
    let symbols: [PrehashSymbol]
    let symbolTable: ByteMap
    let texts: [UInt8]
    let kids: [Int32]

    init(nodes: [PrehashWorkspace.Node], symbols: [PrehashSymbol], symbolTable: ByteMap, texts: [UInt8], kids: [Int32]) {
        self.nodes = nodes
        self.symbols = symbols
        self.symbolTable = symbolTable
        self.texts = texts
        self.kids = kids
    }

    /// −1, 0 or 1.
    func compare(_ a: Int32, _ b: Int32) -> Int {
        if a < 0 || b < 0 { return 0 }   // pairs do not exist yet when members are sorted
        let x = nodes[Int(a)], y = nodes[Int(b)]
        if x.name != y.name {
            let byName = symbolTable.withKey(Int(x.name)) { p in symbolTable.withKey(Int(y.name)) { q in
                compareBytes(p.baseAddress, p.count, q.baseAddress, q.count)
            } }
            if byName != 0 { return byName }
        }
        let byText = texts.withUnsafeBufferPointer { t in
            compareBytes(t.baseAddress.map { $0 + Int(x.text.start) }, Int(x.text.count),
                         t.baseAddress.map { $0 + Int(y.text.start) }, Int(y.text.count))
        }
        if byText != 0 { return byText }
        let common = min(x.kids.count, y.kids.count)
        for k in 0..<Int(common) {
            let byChild = compare(kids[Int(x.kids.start) + k], kids[Int(y.kids.start) + k])
            if byChild != 0 { return byChild }
        }
        return x.kids.count < y.kids.count ? -1 : (x.kids.count > y.kids.count ? 1 : 0)
    }
}

/// Emptied arrays kept with their capacity: `take` one (empty), `give` it back when done.
struct ArrayPool<Element> {
    private var free: [[Element]] = []

    mutating func take() -> [Element] {
        guard var array = free.popLast() else { return [] }
        array.removeAll(keepingCapacity: true)
        return array
    }

    mutating func give(_ array: [Element]) {
        free.append(array)
    }
}
