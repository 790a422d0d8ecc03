// libFuzzer target for Net's HTTP/1.1 parsers. Built by Fuzz/run-http-fuzz.sh together
// with the parser sources (no OpenSSL, no sockets). Any crash, sanitizer report or failed
// invariant below is a finding.

private let limits = HTTPLimits(maxHeaderBytes: 4096, maxHeaderCount: 32, maxBodyBytes: 64 * 1024, maxURILength: 1024)

/// Every request or the error, parsing `bytes` fed in pieces of `step` bytes (0: at once).
private func parseRequests(_ bytes: [UInt8], step: Int) -> ([HTTPRequest], HTTPParseError?) {
    var parser = HTTPRequestParser(limits: limits)
    var requests: [HTTPRequest] = []
    var offset = 0
    repeat {
        let end = step == 0 ? bytes.count : min(bytes.count, offset + step)
        parser.append(bytes[offset..<end])
        offset = end
        do {
            while let request = try parser.nextRequest() { requests.append(request) }
        } catch {
            return (requests, error)
        }
    } while offset < bytes.count
    return (requests, nil)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let step = bytes.first.map { Int($0 % 7) + 1 } ?? 1

    // 1. The result does not depend on how the stream is split.
    let (whole, wholeError) = parseRequests(bytes, step: 0)
    let (split, splitError) = parseRequests(bytes, step: step)
    precondition(whole == split, "split changed the requests")
    precondition(wholeError?.code == splitError?.code, "split changed the error")

    for request in whole {
        // 2. Limits hold for everything accepted.
        precondition(request.body.count <= limits.maxBodyBytes)
        precondition(request.headers.count + request.trailers.count <= limits.maxHeaderCount)
        precondition(request.target.utf8.count <= limits.maxURILength)
        precondition(HTTPMethod.supported.contains(request.method))
        // 3. What we accept, we can write back, and it parses to the same request. The
        //    serializer always writes HTTP/1.1, where Expect and Host have meaning that
        //    HTTP/1.0 ignores, so only 1.1 requests must round-trip exactly.
        if request.version == .http1_1, let wire = try? request.serialized(host: request.headers["host"] ?? "h") {
            var again = HTTPRequestParser(limits: HTTPLimits(maxHeaderBytes: 1 << 20, maxHeaderCount: 1000,
                                                             maxBodyBytes: 1 << 20, maxURILength: 1 << 20))
            again.append(wire)
            let reparsed = try? again.nextRequest()
            precondition(reparsed?.method == request.method && reparsed?.target == request.target
                         && reparsed?.body == request.body, "serialize/parse round trip differs")
        }
    }
    if let error = wholeError {
        precondition([400, 413, 414, 417, 431, 501, 505].contains(error.status), "unexpected status")
    }

    // 4. The response parser survives the same bytes.
    var responses = HTTPResponseParser(limits: limits)
    responses.append(bytes)
    while let response = try? responses.nextResponse(for: step == 3 ? .head : .get) {
        precondition(response.body.count <= limits.maxBodyBytes)
    }
    _ = try? responses.finish(for: .get)
    return 0
}
