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
        precondition(again.count <= raw.count, "packing grew the bytes")
        precondition(PackedEvent.unpack(again) == raw, "a decoded value does not round-trip")
    }
    // 2. Read as raw bytes (those that are not a stored form themselves): packing is lossless.
    if bytes.first != 0x01 {
        let stored = PackedEvent.pack(bytes)
        precondition(stored.count <= bytes.count, "packing grew the bytes")
        precondition(PackedEvent.unpack(stored) == bytes, "packed bytes do not unpack to themselves")
    }
    return 0
}
