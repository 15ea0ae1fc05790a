/// The 64-bit FNV-1a hash: cheap, and enough to tell a torn write from a whole one, or to tag
/// an id in a log line without saying what it is.
struct FNV1a {
    private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

    mutating func add(_ bytes: some Sequence<UInt8>) {
        for byte in bytes {
            value ^= UInt64(byte)
            value &*= 0x0000_0100_0000_01b3
        }
    }
}
