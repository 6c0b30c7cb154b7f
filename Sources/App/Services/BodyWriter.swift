import Fluent
import Media
import MultipartKit
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

    /// Parses a multipart body as it streams: the `fileField` part's bytes go to `path`, small text fields
    /// (64 KiB in all) are collected.
    static func writeMultipart(
        _ body: Request.Body, boundary: String, fileField: String, to path: String, limit: Int64, pool: NIOThreadPool
    ) async -> Multipart {
        final class State {
            var headers: [String: String] = [:]
            var fieldBytes: [UInt8] = []
            var fields: [String: String] = [:]
            var pending: [ByteBuffer] = []
            var inFile = false
            var decided = false
            var sawFile = false
            var filename: String?
            var textTotal = 0
            var tooMuchText = false
        }
        let state = State()
        let parser = MultipartParser(boundary: boundary)
        parser.onHeader = { name, value in state.headers[name.lowercased()] = value }
        parser.onBody = { buffer in
            if !state.decided {
                state.decided = true
                let disposition = state.headers["content-disposition"] ?? ""
                if Self.parameter("name", in: disposition) == fileField, Self.parameter("filename", in: disposition) != nil {
                    state.inFile = true
                    state.sawFile = true
                    state.filename = Self.parameter("filename", in: disposition)
                }
            }
            if state.inFile {
                state.pending.append(buffer)
            } else {
                state.textTotal += buffer.readableBytes
                if state.textTotal > 64 << 10 { state.tooMuchText = true } else { state.fieldBytes += buffer.readableBytesView }
            }
        }
        parser.onPartComplete = {
            if !state.inFile, let name = Self.parameter("name", in: state.headers["content-disposition"] ?? "") {
                state.fields[name] = String(decoding: state.fieldBytes, as: UTF8.self)
            }
            state.headers = [:]
            state.fieldBytes = []
            state.inFile = false
            state.decided = false
        }
        let sink: FileSink
        do {
            sink = try FileSink(path: path, offset: 0, limit: limit, pool: pool)
        } catch {
            return Multipart(outcome: Outcome(written: 0, failure: error), fields: [:], filename: nil, sawFile: false)
        }
        defer { sink.close() }
        do {
            for try await chunk in body {
                do {
                    try parser.execute(chunk)
                } catch {
                    throw Abort(.badRequest, reason: "The multipart body is malformed (\(error)).")
                }
                if state.tooMuchText { throw Abort(.payloadTooLarge, reason: "The form's text fields are over 64 KiB.") }
                for buffer in state.pending { try await sink.write(buffer) }
                state.pending = []
            }
        } catch {
            return Multipart(outcome: Outcome(written: sink.written, failure: error), fields: state.fields, filename: state.filename, sawFile: state.sawFile)
        }
        return Multipart(outcome: Outcome(written: sink.written, failure: nil), fields: state.fields, filename: state.filename, sawFile: state.sawFile)
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

        func close() { try? handle.close() }
    }

    /// `name="file"` or `filename="a b.mp4"` from a Content-Disposition value.
    static func parameter(_ key: String, in header: String) -> String? {
        for piece in header.split(separator: ";") {
            let trimmed = piece.trimmingCharacters(in: .whitespaces)
            guard trimmed.lowercased().hasPrefix(key + "=") else { continue }
            var value = String(trimmed.dropFirst(key.count + 1))
            if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 { value = String(value.dropFirst().dropLast()) }
            return value
        }
        return nil
    }
}
