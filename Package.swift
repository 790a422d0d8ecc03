// swift-tools-version:6.0
// FedTrace: a federation sync node for WHO FCTC Article 8 tracking and tracing.
// No package dependencies: Foundation, Dispatch, the toolchain's test libraries, and the
// system libraries OpenSSL and SQLite through system-library targets (see docs/architecture.md).
import PackageDescription

// The layers on the data path (JSON, EPCIS, hashing, policy, store) are optimised in debug
// builds too: `swift test` runs multi-node tests with 100,000 events, which unoptimised
// Swift makes ten times slower. Stepping through them in a debugger needs a `-Onone` build.
let optimizedInDebug: [SwiftSetting] = [.unsafeFlags(["-O"], .when(configuration: .debug))]

let package = Package(
    name: "FedTrace",
    products: [
        .executable(name: "fedtrace", targets: ["fedtrace"]),
    ],
    targets: [
        // System libraries. The shim headers hold only what Swift cannot import (macros).
        .systemLibrary(
            name: "COpenSSL",
            pkgConfig: "openssl",
            providers: [.apt(["libssl-dev"])]
        ),
        .systemLibrary(
            name: "CSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),

        // Layers, bottom up. Each imports only what is below it (docs/architecture.md).
        .target(name: "Core", swiftSettings: optimizedInDebug),
        .target(name: "Crypto", dependencies: ["Core", "COpenSSL"]),
        .target(name: "Model", dependencies: ["Core", "Crypto"], swiftSettings: optimizedInDebug),
        .target(name: "Policy", dependencies: ["Core", "Model", "Crypto"], swiftSettings: optimizedInDebug),
        .target(name: "Store", dependencies: ["Core", "Model", "Crypto", "CSQLite"], swiftSettings: optimizedInDebug),
        .target(name: "Generator", dependencies: ["Core", "Model"], swiftSettings: optimizedInDebug),
        .target(name: "Net", dependencies: ["Core", "Crypto", "COpenSSL"], swiftSettings: optimizedInDebug),
        .target(name: "Sync", dependencies: ["Core", "Store", "Model", "Crypto", "Policy"], swiftSettings: optimizedInDebug),
        .target(name: "Node", dependencies: ["Core", "Sync", "Store", "Net", "Model", "Crypto", "Policy"]),
        .target(name: "Bench", dependencies: ["Node", "Sync", "Net", "Store", "Generator", "Model", "Crypto", "Policy"]),
        .target(name: "CLI", dependencies: ["Core", "Node", "Sync", "Net", "Bench", "Generator", "Store", "Model", "Crypto", "Policy"]),
        .executableTarget(name: "fedtrace", dependencies: ["CLI"]),

        .testTarget(name: "CoreTests", dependencies: ["Core"]),
        .testTarget(name: "CryptoTests", dependencies: ["Crypto"]),
        .testTarget(name: "ModelTests", dependencies: ["Model", "Generator"], exclude: ["Vectors"]),
        .testTarget(name: "PolicyTests", dependencies: ["Policy", "Model"]),
        .testTarget(name: "StoreTests", dependencies: ["Store", "Model", "Generator"]),
        .testTarget(name: "GeneratorTests", dependencies: ["Generator", "Model"]),
        // Shared test helpers (process runner, TLS test PKI); used by test targets only.
        .target(name: "TestSupport", dependencies: ["Net"], path: "Tests/TestSupport"),
        .testTarget(name: "NetTests", dependencies: ["Net", "Crypto", "TestSupport"]),
        .testTarget(name: "SyncTests", dependencies: ["Sync", "Store", "Policy", "Model", "Crypto", "Generator"]),
        .testTarget(name: "NodeTests", dependencies: ["Node", "Sync", "Net", "Store", "Model", "Crypto", "Policy", "Generator", "TestSupport"]),
        .testTarget(name: "CLITests", dependencies: ["CLI", "Node", "Store", "Model", "Generator", "Crypto", "Policy", "TestSupport"]),
        // Enquiries and evidence (docs/hub.md §3–§4): message formats, two in-process nodes over mutual TLS, the CLI.
        .testTarget(name: "EnquiryTests", dependencies: ["CLI", "Node", "Sync", "Net", "Store", "Policy", "Model", "Crypto"]),
        // Multi-node tests: real `fedtrace serve` processes (the built binary) on loopback.
        .testTarget(name: "FederationTests", dependencies: ["TestSupport", "Node", "Sync", "Store", "Model", "Crypto", "Net", "Policy", "Generator"]),
    ]
)
