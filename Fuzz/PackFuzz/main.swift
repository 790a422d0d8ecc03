// libFuzzer target for the stored form of raw event bytes (`PackedEvent`, coded with
// `Core.LZ`): the `raw` column comes from the store file, which a bad disk or anyone with
// write access to the data folder can change. Built by Fuzz/run-pack-fuzz.sh. Any crash,
// sanitizer report or failed invariant below is a finding.
import Model

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    // 1. Read as a stored value: refused, or raw bytes that pack and unpack to themselves.
    if let raw = PackedEvent.unpack(bytes) {
        let again = PackedEvent.pack(raw)
        precondition(PackedEvent.unpack(again) == raw, "a decoded value does not round-trip")
    }
    // 2. Read as raw bytes: packing is lossless, and grows nothing that does not start
    //    with the marker byte (an event's JSON starts with "{").
    let stored = PackedEvent.pack(bytes)
    precondition(PackedEvent.unpack(stored) == bytes, "packed bytes do not unpack to themselves")
    precondition(bytes.first == 0x01 || stored.count <= bytes.count, "packing grew the bytes")
    return 0
}
