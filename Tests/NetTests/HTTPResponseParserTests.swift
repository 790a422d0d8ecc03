import Testing
@testable import Net

@Suite struct HTTPResponseParserTests {
    @Test func contentLengthAndInterimSkipped() throws {
        var parser = HTTPResponseParser()
        parser.append(Array("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok".utf8))
        let response = try #require(try parser.nextResponse(for: .post))
        #expect(response.status == 201)
        #expect(response.reason == "Created")
        #expect(response.body == Array("ok".utf8))
    }

    @Test func headResponseHasNoBody() throws {
        var parser = HTTPResponseParser()
        parser.append(Array("HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\nHTTP/1.1 204 \r\n\r\n".utf8))
        #expect(try parser.nextResponse(for: .head)?.body == [])
        #expect(try parser.nextResponse(for: .get)?.status == 204)
    }

    @Test func chunkedAndCloseDelimited() throws {
        var parser = HTTPResponseParser()
        parser.append(Array("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n".utf8))
        #expect(try parser.nextResponse(for: .get)?.body == Array("ab".utf8))
        parser.append(Array("HTTP/1.0 200 OK\r\n\r\nuntil close".utf8))
        #expect(try parser.nextResponse(for: .get) == nil)
        #expect(try parser.finish(for: .get)?.body == Array("until close".utf8))
    }

    @Test func sameLimitsAsRequests() throws {
        var parser = HTTPResponseParser(limits: HTTPLimits(maxBodyBytes: 4))
        parser.append(Array("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n".utf8))
        #expect(throws: HTTPParseError.bodyTooLarge) { try parser.nextResponse(for: .get) }

        var smuggled = HTTPResponseParser()
        smuggled.append(Array("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n".utf8))
        #expect(throws: HTTPParseError.lengthAndChunked) { try smuggled.nextResponse(for: .get) }
    }

    @Test func malformedStatusLine() throws {
        for text in ["HTTP/1.1 20 OK\r\n\r\n", "HTTP/1.1 abc OK\r\n\r\n", "ICY 200 OK\r\n\r\n", "HTTP/1.1 101 Switching\r\n\r\n"] {
            var parser = HTTPResponseParser()
            parser.append(Array(text.utf8))
            #expect(throws: HTTPParseError.badStatus) { try parser.nextResponse(for: .get) }
        }
    }

    @Test func truncated() throws {
        var parser = HTTPResponseParser()
        parser.append(Array("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab".utf8))
        #expect(throws: HTTPParseError.truncated) { try parser.finish(for: .get) }
    }
}
