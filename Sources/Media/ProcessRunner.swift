import Foundation

/// What a finished subprocess left: exit status, its standard output, and the end of its standard error.
public struct ProcessResult: Sendable {
    public var status: Int32
    public var stdout: Data
    public var stderrTail: String
    public var timedOut: Bool
}

public enum ProcessError: Error, CustomStringConvertible {
    case notFound(String)
    case failed(String, status: Int32, stderr: String)
    case timedOut(String, seconds: Double)

    public var description: String {
        switch self {
        case .notFound(let tool):
            "\(tool) was not found on PATH: install it (Debian: apt-get install ffmpeg) or set PATH"
        case .failed(let tool, let status, let stderr):
            "\(tool) exited with status \(status): \(stderr.split(separator: "\n").suffix(3).joined(separator: " / "))"
        case .timedOut(let tool, let seconds):
            "\(tool) did not finish within \(Int(seconds)) s and was stopped"
        }
    }
}

/// Runs programs as subprocesses with an argument vector (never a shell string), bounded output and a timeout.
public enum ProcessRunner {
    /// The absolute path of a program found on PATH, or nil.
    public static func which(_ name: String) -> String? {
        if name.contains("/") { return FileManager.default.isExecutableFile(atPath: name) ? name : nil }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for dir in path.split(separator: ":") {
            let candidate = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// Runs `tool` with `arguments`; stdout is kept up to `stdoutLimit` bytes, stderr's last 8 KiB.
    /// `onStdoutLine` sees each line of stdout as it comes (ffmpeg's `-progress pipe:1`).
    public static func run(
        _ tool: String, _ arguments: [String], timeout: Double = 600, stdoutLimit: Int = 16 << 20,
        onStdoutLine: (@Sendable (String) -> Void)? = nil
    ) async throws -> ProcessResult {
        guard let executable = which(tool) else { throw ProcessError.notFound(tool) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        let box = UncheckedProcess(process)

        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<ProcessResult, Error>) in
                DispatchQueue.global().async {
                    do {
                        try box.process.run()
                    } catch {
                        continuation.resume(throwing: ProcessError.notFound(tool))
                        return
                    }
                    let timedOut = LockedFlag()
                    DispatchQueue.global().asyncAfter(deadline: .now() + timeout) {
                        guard box.process.isRunning else { return }
                        timedOut.set()
                        box.process.terminate()
                        DispatchQueue.global().asyncAfter(deadline: .now() + 2) {
                            if box.process.isRunning { kill(box.process.processIdentifier, SIGKILL) }
                        }
                    }
                    let stderrTail = LockedData()
                    let group = DispatchGroup()
                    group.enter()
                    DispatchQueue.global().async {
                        let handle = err.fileHandleForReading
                        while true {
                            let chunk = handle.availableData
                            if chunk.isEmpty { break }
                            stderrTail.append(chunk, keepLast: 8192)
                        }
                        group.leave()
                    }
                    var stdout = Data()
                    var pendingLine = Data()
                    let handle = out.fileHandleForReading
                    while true {
                        let chunk = handle.availableData
                        if chunk.isEmpty { break }
                        if stdout.count < stdoutLimit { stdout.append(chunk.prefix(stdoutLimit - stdout.count)) }
                        if let onStdoutLine {
                            pendingLine.append(chunk)
                            while let nl = pendingLine.firstIndex(of: 0x0A) {
                                onStdoutLine(String(decoding: pendingLine[pendingLine.startIndex..<nl], as: UTF8.self))
                                pendingLine = Data(pendingLine[(nl + 1)...])
                            }
                        }
                    }
                    group.wait()
                    box.process.waitUntilExit()
                    continuation.resume(
                        returning: ProcessResult(
                            status: box.process.terminationStatus, stdout: stdout,
                            stderrTail: String(decoding: stderrTail.value, as: UTF8.self), timedOut: timedOut.value))
                }
            }
        } onCancel: {
            if box.process.isRunning { box.process.terminate() }
        }
    }

    /// Runs and throws unless the program exits 0 in time.
    @discardableResult
    public static func check(
        _ tool: String, _ arguments: [String], timeout: Double = 600,
        onStdoutLine: (@Sendable (String) -> Void)? = nil
    ) async throws -> ProcessResult {
        let result = try await run(tool, arguments, timeout: timeout, onStdoutLine: onStdoutLine)
        if result.timedOut { throw ProcessError.timedOut(tool, seconds: timeout) }
        guard result.status == 0 else { throw ProcessError.failed(tool, status: result.status, stderr: result.stderrTail) }
        return result
    }
}

private final class UncheckedProcess: @unchecked Sendable {
    let process: Process
    init(_ process: Process) { self.process = process }
}

private final class LockedFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var flag = false
    func set() { lock.withLock { flag = true } }
    var value: Bool { lock.withLock { flag } }
}

private final class LockedData: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()
    func append(_ chunk: Data, keepLast limit: Int) {
        lock.withLock {
            data.append(chunk)
            if data.count > limit { data = Data(data.suffix(limit)) }
        }
    }
    var value: Data { lock.withLock { data } }
}
