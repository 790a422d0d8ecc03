import Foundation

extension SupplyChainGenerator {
    // Time steps, in milliseconds.
    private static let second: Int64 = 1000
    private static let minute: Int64 = 60_000
    private static let hour: Int64 = 3_600_000
    private static let day: Int64 = 86_400_000

    /// Writes every event, calling `body` with its bytes and its `eventTime` (ms since 1970).
    ///
    /// Timing model: each packing line makes a carton's worth of packs every 1.5–1.8 s
    /// (about 350 packs a minute) around the clock in three shifts; packs are packed into their
    /// carton 1–2 minutes after commissioning, the case is sealed 1–3 minutes after its last
    /// carton, the pallet wrapped 5–15 minutes after its last case. The order is booked 2–6 h
    /// after the shipment's last pallet, dispatch follows 1–3 days later, the invoice within
    /// 2 h of dispatch, trans-loading 2–5 days after dispatch, arrival 1–3 days after that
    /// (3–7 days without transit), and payment 10–30 days after arrival.
    func generate<E: Error>(_ body: (_ event: [UInt8], _ eventTime: Int64) throws(E) -> Void) throws(E) {
        let c = configuration
        let layout = self.layout
        var rng = SplitMix64(seed: c.seed ^ 0x5449_4D45_5354_4550)
        var w = JSONWriter(capacity: 16_384)

        func jitter(_ low: Int64, _ high: Int64) -> Int64 {
            low + Int64(rng.next() % UInt64(high - low + 1))
        }
        func emit(_ time: Int64) throws(E) {
            try body(w.bytes, time)
            w.bytes.removeAll(keepingCapacity: true)
        }
        /// `{"type":"<type>","eventTime":"…Z","eventTimeZoneOffset":"+05:00"`
        func header(_ type: StaticString, _ time: Int64, _ country: CountryProfile) {
            w.raw(#"{"type":""#)
            w.raw(type)
            w.raw(#"","eventTime":""#)
            w.timestamp(milliseconds: time)
            w.raw(#"","eventTimeZoneOffset":""#)
            w.offset(minutes: country.offsetMinutes(at: time))
            w.byte(UInt8(ascii: "\""))
        }
        func pack(_ product: Layout.Product, _ index: Int) {
            w.raw(product.packURIPrefix)
            w.alphanumeric10(layout.serials.packValue(index))
            w.byte(UInt8(ascii: "\""))
        }
        func carton(_ product: Layout.Product, _ index: Int) {
            w.raw(product.cartonURIPrefix)
            w.alphanumeric10(layout.serials.cartonValue(index))
            w.byte(UInt8(ascii: "\""))
        }
        func sscc(_ reference: Int) {
            w.raw(#""https://id.gs1.org/00/"#)
            let start = w.bytes.count
            w.raw(layout.ssccCasePrefixBytes)
            w.digits(reference, width: 9)
            var sum = 0
            var weight = 3
            for index in stride(from: w.bytes.count - 1, through: start, by: -1) {
                sum += Int(w.bytes[index] - UInt8(ascii: "0")) * weight
                weight = 4 - weight
            }
            w.byte(UInt8(ascii: "0") + UInt8((10 - sum % 10) % 10))
            w.byte(UInt8(ascii: "\""))
        }
        func palletList(_ pallets: Range<Int>) {
            w.raw(#","epcList":["#)
            for pallet in pallets {
                if pallet != pallets.lowerBound { w.byte(UInt8(ascii: ",")) }
                sscc(layout.serials.palletReference(pallet))
            }
            w.byte(UInt8(ascii: "]"))
        }
        func commissioning(_ product: Layout.Product, packs: some Collection<Int>, machine: Int, time: Int64) throws(E) {
            header("ObjectEvent", time, layout.manufacturerCountry)
            w.raw(#","epcList":["#)
            var first = true
            for index in packs {
                if !first { w.byte(UInt8(ascii: ",")) }
                first = false
                pack(product, index)
            }
            w.raw(#"],"action":"ADD","bizStep":"commissioning","disposition":"active""#)
            w.raw(layout.commissioningFragments[machine])
            let offset = layout.manufacturerCountry.offsetMinutes(at: time)
            let localHour = Int(((time + Int64(offset) * Self.minute) % Self.day + Self.day) % Self.day / Self.hour)
            w.raw(localHour >= 6 && localHour < 14 ? "1" : (localHour >= 14 && localHour < 22 ? "2" : "3"))
            w.raw(#"","tt:productionTime":""#)
            w.timestamp(milliseconds: time, offsetMinutes: offset)
            w.raw(#"","#)
            w.raw(product.ilmdTail)
            w.byte(UInt8(ascii: "}"))
            try emit(time)
        }
        func businessTransaction(_ type: StaticString, issuer: String, _ kind: StaticString, shipment: Int) {
            w.raw(#"{"type":""#)
            w.raw(type)
            w.raw(#"","bizTransaction":"urn:epcglobal:cbv:bt:"#)
            w.raw(Array(issuer.utf8))
            w.byte(UInt8(ascii: ":"))
            w.raw(kind)
            w.byte(UInt8(ascii: "-"))
            w.raw(layout.seedTagBytes)
            w.byte(UInt8(ascii: "-"))
            w.digits(shipment + 1, width: 6)
            w.raw(#""}"#)
        }
        func transactions(_ shipment: Int, order: Bool, invoice: Bool, payment: Bool) {
            w.raw(#","bizTransactionList":["#)
            if order { businessTransaction("po", issuer: layout.importerGLN, "PO", shipment: shipment) }
            if invoice { w.byte(UInt8(ascii: ",")); businessTransaction("inv", issuer: layout.manufacturerGLN, "INV", shipment: shipment) }
            if payment { w.byte(UInt8(ascii: ",")); businessTransaction("https://ns.fedtrace.org/tobacco/1/BTT-payment", issuer: layout.importerGLN, "PAY", shipment: shipment) }
            w.byte(UInt8(ascii: "]"))
        }
        func transport(_ shipment: Int, leg: Int) {
            let h = Layout.hash(c.seed, 0x7452_0000 + UInt64(leg), shipment)
            w.raw(#","tt:transport":{"tt:mode":"#)
            if h % 3 == 0 {
                w.raw(#""rail","tt:vehicle":"WAGON "#)
                w.digits(Int((h >> 8) % 100_000_000), width: 8)
            } else {
                w.raw(#""road","tt:vehicle":""#)
                w.digits(Int((h >> 8) % 1000), width: 3)
                w.byte(UInt8(ascii: " "))
                for shift in [20, 25, 30] as [UInt64] { w.byte(UInt8(ascii: "A") + UInt8((h >> shift) % 26)) }
                w.byte(UInt8(ascii: " "))
                w.digits(Int((h >> 40) % 20) + 1, width: 2)
            }
            w.raw(#""}"#)
        }

        // Production starts at 06:00 local time on the start day, lines staggered by seconds.
        let startDay = Int64(c.startDate.timeIntervalSince1970 * 1000).quotient(dividingBy: Self.day)
        let firstShift = startDay * Self.day + 6 * Self.hour
            - Int64(layout.manufacturerCountry.offsetMinutes(at: startDay * Self.day)) * Self.minute
        var lineClock = (0..<c.machines).map { firstShift + Int64($0) * 7 * Self.second }
        var packCounter = 0
        var cartonIndex = 0
        var caseIndex = 0
        var packs = [Int](repeating: 0, count: c.packsPerCarton)
        let shipments = (c.pallets + c.palletsPerShipment - 1) / c.palletsPerShipment

        for shipment in 0..<shipments {
            let pallets = (shipment * c.palletsPerShipment)..<min(c.pallets, (shipment + 1) * c.palletsPerShipment)
            var lastPalletTime = Int64.min
            for pallet in pallets {
                let product = layout.products[layout.productIndex(pallet: pallet)]
                let firstCase = caseIndex
                var lastCaseTime = Int64.min
                for _ in 0..<c.casesPerPallet {
                    let machine = caseIndex % c.machines
                    let firstCarton = cartonIndex
                    var lastCartonTime = Int64.min
                    for _ in 0..<c.cartonsPerCase {
                        lineClock[machine] += jitter(1500, 1800)
                        let made = lineClock[machine]
                        for position in 0..<c.packsPerCarton { packs[position] = packCounter + position }
                        try commissioning(product, packs: packs, machine: machine, time: made)
                        packCounter += c.packsPerCarton
                        if let (position, reason) = layout.deactivation(carton: cartonIndex) {
                            let deactivated = made + jitter(2 * Self.second, 10 * Self.second)
                            header("ObjectEvent", deactivated, layout.manufacturerCountry)
                            w.raw(#","epcList":["#)
                            pack(product, packs[position])
                            w.raw(#"],"action":"DELETE","bizStep":"decommissioning","disposition":"inactive""#)
                            w.raw(layout.lineLocationFragments[machine])
                            w.raw(#","tt:deactivationReason":""#)
                            w.raw(Array(Layout.deactivationReasons[reason].utf8))
                            w.raw(#""}"#)
                            try emit(deactivated)
                            packs[position] = packCounter
                            packCounter += 1
                            try commissioning(product, packs: CollectionOfOne(packs[position]), machine: machine,
                                              time: made + jitter(15 * Self.second, 40 * Self.second))
                        }
                        let packed = made + jitter(Self.minute, 2 * Self.minute)
                        header("AggregationEvent", packed, layout.manufacturerCountry)
                        w.raw(#","parentID":"#)
                        carton(product, cartonIndex)
                        w.raw(#","childEPCs":["#)
                        for position in 0..<c.packsPerCarton {
                            if position > 0 { w.byte(UInt8(ascii: ",")) }
                            pack(product, packs[position])
                        }
                        w.raw(#"],"action":"ADD","bizStep":"packing","disposition":"in_progress""#)
                        w.raw(layout.packingLocation)
                        w.byte(UInt8(ascii: "}"))
                        try emit(packed)
                        lastCartonTime = max(lastCartonTime, packed)
                        cartonIndex += 1
                    }
                    let sealed = lastCartonTime + jitter(Self.minute, 3 * Self.minute)
                    header("AggregationEvent", sealed, layout.manufacturerCountry)
                    w.raw(#","parentID":"#)
                    sscc(layout.serials.caseReference(caseIndex))
                    w.raw(#","childEPCs":["#)
                    for index in firstCarton..<cartonIndex {
                        if index > firstCarton { w.byte(UInt8(ascii: ",")) }
                        carton(product, index)
                    }
                    w.raw(#"],"action":"ADD","bizStep":"packing","disposition":"in_progress""#)
                    w.raw(layout.packingLocation)
                    w.byte(UInt8(ascii: "}"))
                    try emit(sealed)
                    lastCaseTime = max(lastCaseTime, sealed)
                    caseIndex += 1
                }
                let wrapped = lastCaseTime + jitter(5 * Self.minute, 15 * Self.minute)
                header("AggregationEvent", wrapped, layout.manufacturerCountry)
                w.raw(#","parentID":"#)
                sscc(layout.serials.palletReference(pallet))
                w.raw(#","childEPCs":["#)
                for index in firstCase..<caseIndex {
                    if index > firstCase { w.byte(UInt8(ascii: ",")) }
                    sscc(layout.serials.caseReference(index))
                }
                w.raw(#"],"action":"ADD","bizStep":"packing","disposition":"in_progress""#)
                w.raw(layout.packingLocation)
                w.byte(UInt8(ascii: "}"))
                try emit(wrapped)
                lastPalletTime = max(lastPalletTime, wrapped)
            }

            // Order: the pallets are reserved for the importer's purchase order.
            let ordered = lastPalletTime + jitter(2 * Self.hour, 6 * Self.hour)
            header("TransactionEvent", ordered, layout.manufacturerCountry)
            transactions(shipment, order: true, invoice: false, payment: false)
            palletList(pallets)
            w.raw(#","action":"ADD","bizStep":"holding","disposition":"reserved""#)
            w.raw(layout.manufacturerOfficeLocation)
            w.raw(layout.firstCustomer)
            w.byte(UInt8(ascii: "}"))
            try emit(ordered)

            // Dispatch.
            let dispatched = ordered + jitter(Self.day, 3 * Self.day)
            header("ObjectEvent", dispatched, layout.manufacturerCountry)
            palletList(pallets)
            w.raw(#","action":"OBSERVE","bizStep":"shipping","disposition":"in_transit""#)
            w.raw(layout.dispatchLocation)
            transactions(shipment, order: true, invoice: true, payment: false)
            w.raw(layout.sourceAndDestination)
            w.raw(layout.shippingExtension)
            transport(shipment, leg: 0)
            w.byte(UInt8(ascii: "}"))
            try emit(dispatched)

            // Invoice: ownership passes to the importer at dispatch.
            let invoiced = dispatched + jitter(10 * Self.minute, 2 * Self.hour)
            header("TransactionEvent", invoiced, layout.manufacturerCountry)
            transactions(shipment, order: true, invoice: true, payment: false)
            palletList(pallets)
            w.raw(#","action":"ADD","bizStep":"accepting""#)
            w.raw(layout.manufacturerOfficeLocation)
            w.raw(layout.firstCustomer)
            w.byte(UInt8(ascii: "}"))
            try emit(invoiced)

            // Trans-loading in the transit Party onto a new vehicle.
            var arrivedFrom = dispatched
            if let transitCountry = layout.transitCountry {
                let loaded = dispatched + jitter(2 * Self.day, 5 * Self.day)
                header("ObjectEvent", loaded, transitCountry)
                palletList(pallets)
                w.raw(#","action":"OBSERVE","bizStep":"loading","disposition":"in_transit""#)
                w.raw(layout.transitLocation)
                transactions(shipment, order: true, invoice: true, payment: false)
                w.raw(layout.sourceAndDestination)
                transport(shipment, leg: 1)
                w.byte(UInt8(ascii: "}"))
                try emit(loaded)
                arrivedFrom = loaded
            }

            // Arrival at the importer's warehouse.
            let received = arrivedFrom + (layout.transitCountry == nil
                ? jitter(3 * Self.day, 7 * Self.day) : jitter(Self.day, 3 * Self.day))
            header("ObjectEvent", received, layout.importerCountry)
            palletList(pallets)
            w.raw(#","action":"OBSERVE","bizStep":"receiving","disposition":"in_progress""#)
            w.raw(layout.receivingLocation)
            transactions(shipment, order: true, invoice: true, payment: false)
            w.raw(layout.sourceAndDestination)
            w.byte(UInt8(ascii: "}"))
            try emit(received)

            // Payment by the importer, recorded by the manufacturer.
            let paid = received + jitter(10 * Self.day, 30 * Self.day)
            header("TransactionEvent", paid, layout.manufacturerCountry)
            transactions(shipment, order: true, invoice: true, payment: true)
            palletList(pallets)
            w.raw(#","action":"ADD","bizStep":"accepting""#)
            w.raw(layout.manufacturerOfficeLocation)
            w.raw(layout.firstCustomer)
            w.byte(UInt8(ascii: "}"))
            try emit(paid)
        }
    }
}

private extension Int64 {
    /// Floor division (the start date may carry a fraction of a day).
    func quotient(dividingBy divisor: Int64) -> Int64 {
        self >= 0 ? self / divisor : (self - divisor + 1) / divisor
    }
}
