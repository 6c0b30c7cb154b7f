// libFuzzer target over the streaming multipart scanner and header parameters: any trap is a bug; the body
// cut into pieces (sizes from the first byte) must give the same parts as the body in one piece.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let bytes = [UInt8](UnsafeRawBufferPointer(start: start, count: count))
    guard let first = bytes.first else { return 0 }
    let body = Array(bytes.dropFirst())
    for boundary in ["b", "----WebKitFormBoundaryx7"] {
        let whole = scan(body, boundary: boundary, step: body.count + 1)
        let cut = scan(body, boundary: boundary, step: Int(first % 23) + 1)
        precondition(whole == cut, "the scanner's parts depend on how the body was cut")
    }
    let text = String(decoding: body, as: UTF8.self)
    _ = HeaderValue.parameter("filename", in: text)
    _ = HeaderValue.parameters(text)
    return 0
}

/// The parts as (headers, body) and whether the body was complete, or that it was refused.
private struct Outcome: Equatable {
    var parts: [[MultipartHeader]] = []
    var bodies: [[UInt8]] = []
    var finished = false
    var refused = false
}

private func scan(_ body: [UInt8], boundary: String, step: Int) -> Outcome {
    var outcome = Outcome()
    guard var scanner = try? MultipartScanner(boundary: boundary, maxHeaderBytes: 256, maxParts: 50) else { return outcome }
    var i = 0
    repeat {
        let end = min(body.count, i + step)
        do {
            for event in try scanner.feed(body[i..<end]) {
                switch event {
                case .headers(let headers):
                    outcome.parts.append(headers)
                    outcome.bodies.append([])
                case .body(let slice):
                    precondition(!outcome.bodies.isEmpty, "body before headers")
                    outcome.bodies[outcome.bodies.count - 1] += slice
                case .partEnd: break
                }
            }
        } catch {
            // A refusal fails the whole request, so the parts before it do not count.
            return Outcome(refused: true)
        }
        i = end
    } while i < body.count
    outcome.finished = (try? scanner.finish()) != nil
    return outcome
}
