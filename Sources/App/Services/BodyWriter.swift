import Fluent
import Media
import NIOCore
import NIOPosix
import Vapor

/// Streams a request body into a file, chunk by chunk, never holding more than a chunk in memory.
enum BodyWriter {
    struct Outcome {
        /// Bytes stored, including those before a failure.
        var written: Int64
        /// Why it stopped early: the client went away, or the body went past the limit (413).
        var failure: (any Error)?
    }

    static func tooLarge(_ limit: Int64) -> Abort {
        Abort(.payloadTooLarge, reason: "The body went past \(Formatting.bytes(limit)), the most this upload may have (VIDEOTUBE_MAX_UPLOAD_BYTES or your quota).")
    }

    /// Writes `body` to `path` from byte `offset`; stops with 413 past `limit` bytes.
    static func write(_ body: Request.Body, to path: String, at offset: Int64, limit: Int64, pool: NIOThreadPool) async -> Outcome {
        let sink: FileSink
        do {
            sink = try FileSink(path: path, offset: offset, limit: limit, pool: pool)
        } catch {
            return Outcome(written: 0, failure: error)
        }
        defer { sink.close() }
        do {
            for try await chunk in body { try await sink.write(chunk) }
            return Outcome(written: sink.written, failure: nil)
        } catch {
            return Outcome(written: sink.written, failure: error)
        }
    }

    struct Multipart {
        var outcome: Outcome
        var fields: [String: String]
        var filename: String?
        var sawFile: Bool
    }

    /// Parses a multipart body as it streams (`MultipartScanner`): the `fileField` part's bytes go to `path`, small
    /// text fields (64 KiB in all) are collected.
    static func writeMultipart(
        _ body: Request.Body, boundary: String, fileField: String, to path: String, limit: Int64, pool: NIOThreadPool
    ) async -> Multipart {
        var fields: [String: String] = [:]
        var filename: String?
        var sawFile = false
        let sink: FileSink
        do {
            sink = try FileSink(path: path, offset: 0, limit: limit, pool: pool)
        } catch {
            return Multipart(outcome: Outcome(written: 0, failure: error), fields: [:], filename: nil, sawFile: false)
        }
        defer { sink.close() }
        func done(_ failure: (any Error)?) -> Multipart {
            Multipart(outcome: Outcome(written: sink.written, failure: failure), fields: fields, filename: filename, sawFile: sawFile)
        }
        do {
            var scanner = try MultipartScanner(boundary: boundary)
            // The part being read: a field's name and bytes so far, or the file.
            var fieldName: String?
            var fieldBytes: [UInt8] = []
            var inFile = false
            var textTotal = 0
            for try await chunk in body {
                for event in try scanner.feed(chunk.readableBytesView) {
                    switch event {
                    case .headers(let headers):
                        let disposition = headers.first(where: { $0.name == "content-disposition" })?.value ?? ""
                        let name = HeaderValue.parameter("name", in: disposition)
                        let file = HeaderValue.parameter("filename", in: disposition)
                        inFile = !sawFile && name == fileField && file != nil
                        if inFile {
                            sawFile = true
                            filename = file
                        }
                        fieldName = inFile ? nil : name
                        fieldBytes = []
                    case .body(let bytes):
                        if inFile {
                            try await sink.write(bytes)
                        } else {
                            textTotal += bytes.count
                            guard textTotal <= 64 << 10 else {
                                throw Abort(.payloadTooLarge, reason: "The form's text fields are over 64 KiB.")
                            }
                            fieldBytes += bytes
                        }
                    case .partEnd:
                        if fieldName != nil, fieldBytes.contains(0) { throw NulByteMiddleware.refusal }
                        if let fieldName, fields[fieldName] == nil { fields[fieldName] = String(decoding: fieldBytes, as: UTF8.self) }
                        inFile = false
                        fieldName = nil
                    }
                }
            }
            try scanner.finish()
        } catch let error as Media.MultipartError {
            return done(Abort(.badRequest, reason: "The multipart body is malformed: \(error)."))
        } catch {
            return done(error)
        }
        return done(nil)
    }

    /// A file written from a position on, each write on the thread pool (disk writes never block an event loop),
    /// refusing (413) a write that would take it past `limit` bytes.
    final class FileSink: @unchecked Sendable {
        let handle: FileHandle
        let pool: NIOThreadPool
        let limit: Int64
        /// Bytes written so far.
        private(set) var written: Int64 = 0

        init(path: String, offset: Int64, limit: Int64, pool: NIOThreadPool) throws {
            self.limit = limit
            if !FileManager.default.fileExists(atPath: path) {
                _ = FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600])
            }
            guard let handle = FileHandle(forWritingAtPath: path) else { throw StorageError.io("cannot open \(path) for writing") }
            try handle.seek(toOffset: UInt64(offset))
            self.handle = handle
            self.pool = pool
        }

        func write(_ buffer: ByteBuffer) async throws {
            guard written + Int64(buffer.readableBytes) <= limit else { throw BodyWriter.tooLarge(limit) }
            try await pool.runIfActive { [handle] in try handle.write(contentsOf: buffer.readableBytesView) }
            written += Int64(buffer.readableBytes)
        }

        func write(_ bytes: ArraySlice<UInt8>) async throws {
            guard written + Int64(bytes.count) <= limit else { throw BodyWriter.tooLarge(limit) }
            try await pool.runIfActive { [handle] in try handle.write(contentsOf: bytes) }
            written += Int64(bytes.count)
        }

        func close() { try? handle.close() }
    }
}
