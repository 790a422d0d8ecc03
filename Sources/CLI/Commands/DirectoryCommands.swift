import Foundation
import Crypto
import Model
import Node
import Store
import Sync

/// `fedtrace directory publish|show|owner` (docs/hub.md §2): the Party's signed directory
/// entry, sent to every hub peer, and the entries of all Parties, fetched from the hubs and
/// verified here.
enum DirectoryCommands {
    static let all: [Command] = [publish, show, owner]

    static let publish = Command(
        "directory publish", summary: "sign this Party's directory entry (next version) and send it to every hub peer",
        usage: "--data DIR [--endpoint HOST:PORT]... [--pattern P]... [--authority \"NAME:ROLE\"]... [--json]",
        options: [dataOption,
                  OptionSpec("endpoint", value: "HOST:PORT", repeatable: true, help: "a federation listener of this Party as peers reach it; none: reachable through the hub only"),
                  OptionSpec("pattern", value: "P", repeatable: true, help: "a UIM prefix this Party owns: https://id.gs1.org/AI/KEY… (canonical GS1 Digital Link) or urn:epc:id:SCHEME:… (EPC schemes without a Digital Link form)"),
                  OptionSpec("authority", value: "NAME:ROLE", repeatable: true, help: "a competent authority, e.g. \"State Revenue Committee:customs\""),
                  jsonOption]
    ) { arguments, output in
        let endpoints = arguments.all("endpoint")
        for endpoint in endpoints where !Directory.isEndpoint(endpoint) {
            throw UsageError(reason: "--endpoint '\(endpoint)' is not HOST:PORT (IPv4, [IPv6] or a DNS name, port 1-65535)")
        }
        let patterns = arguments.all("pattern")
        for pattern in patterns {
            if let problem = Directory.patternProblem(pattern) { throw UsageError(reason: "--pattern: \(problem)") }
        }
        var authorities: [CompetentAuthority] = []
        for text in arguments.all("authority") {
            guard let colon = text.lastIndex(of: ":"), colon != text.startIndex, text.index(after: colon) != text.endIndex else {
                throw UsageError(reason: "--authority '\(text)' must be NAME:ROLE, e.g. \"State Revenue Committee:customs\"")
            }
            authorities.append(CompetentAuthority(name: String(text[..<colon]).trimmingCharacters(in: .whitespaces),
                                                  role: String(text[text.index(after: colon)...]).trimmingCharacters(in: .whitespaces)))
        }
        let node = try openNode(arguments)
        let report = try DirectoryService(node: node).publish(endpoints: endpoints, uimPatterns: patterns, competentAuthorities: authorities)
        let entry = report.entry
        let failed = report.deliveries.filter { !$0.isAccepted }
        if arguments.flag("json") {
            output.json(.object([
                "party": .string(entry.party.urn), "version": .number(String(entry.version)), "issued": .string(entry.issued),
                "sha256": .string(entry.digest),
                "hubs": .array(report.deliveries.map { delivery in
                    var object: JSONObject = ["hub": .string(delivery.hub), "endpoint": .string(delivery.endpoint)]
                    switch delivery.outcome {
                    case .stored: object["status"] = "stored"
                    case .unchanged: object["status"] = "unchanged"
                    case .refused(let error):
                        object["status"] = "refused"
                        object["code"] = .string(error.code)
                        object["reason"] = .string(error.reason)
                    case .unreachable(let reason):
                        object["status"] = "unreachable"
                        object["reason"] = .string(reason)
                    }
                    return .object(object)
                }),
            ]))
        } else {
            output.line("signed directory entry version \(entry.version) of \(entry.party.urn) (sha256 \(entry.digest.prefix(16))…): "
                        + "\(count(entry.endpoints.count, "endpoint")), \(count(entry.uimPatterns.count, "UIM pattern")), "
                        + "\(count(entry.competentAuthorities.count, "competent authority", plural: "competent authorities"))")
            for delivery in report.deliveries {
                let status: String
                switch delivery.outcome {
                case .stored: status = "stored"
                case .unchanged: status = "already held"
                case .refused(let error): status = "refused: \(error.code): \(error.reason)"
                case .unreachable(let reason): status = "unreachable: \(reason)"
                }
                output.line("hub \(delivery.hub) at \(delivery.endpoint): \(status)")
            }
        }
        if !failed.isEmpty {
            output.error("fedtrace directory publish: \(failed.count) of \(report.deliveries.count) hubs did not take the entry; publish again when they are reachable")
            return 1
        }
        return 0
    }

    static let show = Command(
        "directory show", summary: "fetch the directory from the hub peers, verify every entry, cache the valid ones and print them",
        usage: "--data DIR [--party XX] [--cached] [--json]",
        options: [dataOption, OptionSpec("party", value: "XX", help: "only this Party's entry (code or urn:fctc:party:XX)"),
                  OptionSpec("cached", help: "print the cached entries (verified again) without contacting the hubs"),
                  jsonOption]
    ) { arguments, output in
        let party = try arguments.party("party")
        let node = try openNode(arguments)
        let service = DirectoryService(node: node)
        let refresh: DirectoryRefresh? = arguments.flag("cached") ? nil : try service.refresh()
        var entries = try refresh?.entries ?? service.entries()
        if let party { entries = entries.filter { $0.party == party } }
        let sources = Dictionary(try service.store.entries().map { ($0.party, $0.source) }, uniquingKeysWith: { first, _ in first })
        var invalid = refresh?.invalid ?? []
        if let party { invalid = invalid.filter { $0.entry.claimedSigner == nil || $0.entry.claimedSigner == party.urn } }
        if arguments.flag("json") {
            var object: JSONObject = ["entries": .array(entries.map { entryJSON($0, source: sources[$0.party.urn]) })]
            if let refresh {
                object["invalid"] = .array(invalid.map { item in
                    .object(["hub": .string(item.hub), "index": .number(String(item.entry.index)), "sha256": .string(item.entry.digest),
                             "claimedSigner": item.entry.claimedSigner.map(JSONValue.string) ?? .null,
                             "code": .string(item.entry.error.code), "reason": .string(item.entry.error.reason)])
                })
                object["olderThanCached"] = .array(refresh.olderThanCached.map { item in
                    .object(["hub": .string(item.hub), "party": .string(item.entry.party.urn), "version": .number(String(item.entry.version)),
                             "cachedVersion": .number(String(item.current))])
                })
                object["hubs"] = .array(refresh.hubs.map { fetch in
                    var hub: JSONObject = ["hub": .string(fetch.hub), "endpoint": .string(fetch.endpoint)]
                    switch fetch.result {
                    case .success(let count): hub["entries"] = .number(String(count))
                    case .failure(let error): hub["error"] = .string(error.reason)
                    }
                    return .object(hub)
                })
            }
            output.json(.object(object))
        } else {
            if let refresh {
                if refresh.hubs.isEmpty { output.line("no hub peer: showing the cached entries (add one with 'fedtrace peer add --party urn:fctc:hub:NAME')") }
                for fetch in refresh.hubs {
                    switch fetch.result {
                    case .success(let n): output.line("hub \(fetch.hub) at \(fetch.endpoint): \(count(n, "entry", plural: "entries"))")
                    case .failure(let error): output.line("hub \(fetch.hub) at \(fetch.endpoint): unreachable: \(error.reason)")
                    }
                }
            }
            if entries.isEmpty { output.line(party.map { "no valid directory entry for \($0.urn)" } ?? "no valid directory entries") }
            for entry in entries {
                output.line("\(entry.party.urn)  version \(entry.version)  issued \(entry.issued)  from \(sources[entry.party.urn] ?? "?")")
                output.line("  endpoints: \(entry.endpoints.isEmpty ? "none (through the hub)" : entry.endpoints.joined(separator: ", "))")
                output.line("  UIM patterns: \(entry.uimPatterns.isEmpty ? "none" : entry.uimPatterns.joined(separator: ", "))")
                let authorities = entry.competentAuthorities.map { "\($0.name) (\($0.role))" }
                output.line("  competent authorities: \(authorities.isEmpty ? "none" : authorities.joined(separator: "; "))")
                for (purpose, certificate) in [("transport", entry.transportCertificate), ("signing", entry.signingCertificate), ("sealing", entry.sealingCertificate)] {
                    output.line("  \(purpose): serial \(certificate.serialNumber), sha256 \(certificate.fingerprintSHA256.prefix(16))…, until \(isoDate(certificate.notAfter))")
                }
            }
            for item in invalid {
                output.line("invalid entry from \(item.hub) (claims \(item.entry.claimedSigner ?? "no readable signer"), sha256 \(item.entry.digest.prefix(16))…): "
                            + "\(item.entry.error.code): \(item.entry.error.reason)")
            }
            for item in refresh?.olderThanCached ?? [] where party == nil || item.entry.party == party {
                output.line("note: \(item.hub) serves version \(item.entry.version) of \(item.entry.party.urn); version \(item.current) is cached here")
            }
        }
        if let refresh, !refresh.hubs.isEmpty, !refresh.hubs.contains(where: { if case .success = $0.result { true } else { false } }) {
            output.error("fedtrace directory show: no hub could be reached; the entries shown are the cached ones")
            return 1
        }
        if let party, entries.isEmpty {
            output.error("fedtrace directory show: no valid directory entry for \(party.urn)")
            return 1
        }
        return 0
    }

    static let owner = Command(
        "directory owner", summary: "the Party that owns a UIM by the cached directory (longest matching UIM pattern)",
        usage: "--data DIR --uim UIM [--json]",
        options: [dataOption, OptionSpec("uim", value: "UIM", help: "a UIM (EPC URI or GS1 Digital Link)"), jsonOption]
    ) { arguments, output in
        let uim = try arguments.required("uim")
        let node = try openNode(arguments)
        let ownership = try DirectoryService(node: node).ownership(ofUIM: uim)
        let canonical = UIMReference.canonical(uim)
        var object: JSONObject = ["uim": .string(uim), "canonical": .string(canonical)]
        let status: Int32
        switch ownership {
        case .owned(let entry, let pattern):
            object["owner"] = .string(entry.party.urn)
            object["pattern"] = .string(pattern)
            object["version"] = .number(String(entry.version))
            if !arguments.flag("json") { output.line("\(entry.party.urn) (pattern \(pattern), entry version \(entry.version))") }
            status = 0
        case .ambiguous(let parties, let pattern):
            object["owner"] = .null
            object["ambiguous"] = .array(parties.map { .string($0.urn) })
            object["pattern"] = .string(pattern)
            if !arguments.flag("json") {
                output.error("fedtrace directory owner: \(parties.map(\.urn).joined(separator: ", ")) all publish pattern \(pattern): no single owner")
            }
            status = 1
        case .unowned:
            object["owner"] = .null
            if !arguments.flag("json") { output.error("fedtrace directory owner: no cached directory entry has a pattern matching \(canonical)") }
            status = 1
        }
        if arguments.flag("json") { output.json(.object(object)) }
        return status
    }

    static func entryJSON(_ entry: VerifiedEntry, source: String?) -> JSONValue {
        func certificate(_ c: Certificate) -> JSONValue {
            .object(["serial": .string(c.serialNumber), "sha256": .string(c.fingerprintSHA256), "notAfter": .string(isoDate(c.notAfter))])
        }
        return .object([
            "party": .string(entry.party.urn), "version": .number(String(entry.version)), "issued": .string(entry.issued),
            "sha256": .string(entry.digest), "source": source.map(JSONValue.string) ?? .null,
            "endpoints": .array(entry.endpoints.map(JSONValue.string)),
            "uimPatterns": .array(entry.uimPatterns.map(JSONValue.string)),
            "competentAuthorities": .array(entry.competentAuthorities.map { .object(["name": .string($0.name), "role": .string($0.role)]) }),
            "certificates": .object(["transport": certificate(entry.transportCertificate), "signing": certificate(entry.signingCertificate),
                                     "sealing": certificate(entry.sealingCertificate)]),
        ])
    }

    static func count(_ n: Int, _ noun: String, plural: String? = nil) -> String {
        "\(n) \(n == 1 ? noun : plural ?? noun + "s")"
    }

    static func isoDate(_ date: Date) -> String {
        Timestamp(epochMilliseconds: Int64((date.timeIntervalSince1970 * 1000).rounded(.down))).canonicalUTC
    }
}
