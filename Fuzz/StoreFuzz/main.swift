// libFuzzer target for the UIM index's block reader (`PostingIndex.BlockScan`): block bytes
// come from the store file, which an attacker with disk access (or a bad disk) can change.
// Built by Fuzz/run-store-fuzz.sh with the Store module compiled for testing. Any crash,
// sanitizer report or failed invariant below is a finding.
@testable import Store

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let scan: PostingIndex.BlockScan
    do {
        scan = try PostingIndex.BlockScan(bytes)
    } catch let error as StoreError {
        // 1. Refused input is a corrupt index, and the SQL function refuses it too.
        precondition(error.code == "store.index.corrupt", "refused with \(error.code)")
        precondition((try? PostingIndex.json(ofBlock: bytes)) == nil, "the SQL function read a refused block")
        return 0
    } catch {
        preconditionFailure("refused with \(error)")
    }
    // 2. Accepted entries are in strictly increasing key order with roles blocks can hold.
    for (a, b) in zip(scan.entries, scan.entries.dropFirst()) {
        precondition(scan.compare(a, with: scan, b) < 0, "entries out of order")
    }
    for entry in scan.entries { precondition(entry.role >= 1 && Int(entry.role) <= PostingIndex.roles.count) }
    // 3. Written again by the encoder, they read back as the same postings.
    var encoder = PostingIndex.BlockEncoder()
    var blocks: [PostingIndex.Block] = []
    scan.bytes.withUnsafeBufferPointer { b in
        for entry in scan.entries {
            if let closed = encoder.add(uim: UnsafeBufferPointer(rebasing: b[entry.uim]), eventID: entry.eventID, role: entry.role) { blocks.append(closed) }
        }
    }
    if let last = encoder.finish() { blocks.append(last) }
    var again: [(uim: [UInt8], eventID: Int64, role: UInt8)] = []
    for block in blocks {
        guard let reread = try? PostingIndex.BlockScan(block.data) else { preconditionFailure("the encoder wrote a block the reader refuses") }
        again += reread.entries.map { (Array(reread.bytes[$0.uim]), $0.eventID, $0.role) }
    }
    precondition(again.count == scan.entries.count, "re-encoding changed the number of postings")
    for (x, entry) in zip(again, scan.entries) {
        precondition(x.uim == Array(scan.bytes[entry.uim]) && x.eventID == entry.eventID && x.role == entry.role, "re-encoding changed a posting")
    }
    // 4. The SQL function's JSON reads.
    precondition((try? PostingIndex.json(ofBlock: bytes)) != nil, "the SQL function refused an accepted block")
    return 0
}
