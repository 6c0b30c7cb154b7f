import Foundation

/// Finds the folder that holds `Resources/` (templates, the password list) and `Public/` (scripts, styles,
/// images), so `videotube` works from any working directory, not only from the checkout it was built in.
///
/// Looked for, first match wins:
/// 1. `VIDEOTUBE_RESOURCES` (an error when it does not hold them: a set variable is never silently ignored);
/// 2. `<executable>/../share/videotube` — what `make install PREFIX=…` lays out;
/// 3. the executable's own folder (a tarball with everything side by side);
/// 4. the working directory (a checkout, `make run`);
/// 5. the checkout the binary was built from (`.build/debug/videotube` started from anywhere).
public enum ResourceLocator {
    /// A folder holds the resources when both of these are in it.
    static let markers = ["Resources/Views/base.leaf", "Public/css"]

    public static func locate(
        environment env: [String: String] = ProcessInfo.processInfo.environment,
        executable: String? = executablePath(), workingDirectory: String = FileManager.default.currentDirectoryPath,
        sourceCheckout: String? = buildCheckout()
    ) throws -> String {
        if let given = env["VIDEOTUBE_RESOURCES"], !given.isEmpty {
            guard holdsResources(given) else {
                throw ConfigError(
                    variable: "VIDEOTUBE_RESOURCES",
                    message: "'\(given)' does not hold Resources/Views and Public/; point it at the folder `make install` wrote (PREFIX/share/videotube) or at a checkout")
            }
            return normalized(given)
        }
        var candidates: [String] = []
        if let executable {
            let folder = (executable as NSString).deletingLastPathComponent
            candidates.append(((folder as NSString).deletingLastPathComponent as NSString).appendingPathComponent("share/videotube"))
            candidates.append(folder)
        }
        candidates.append(workingDirectory)
        if let sourceCheckout { candidates.append(sourceCheckout) }
        if let found = candidates.first(where: holdsResources) { return normalized(found) }
        throw ConfigError(
            variable: "VIDEOTUBE_RESOURCES",
            message: "cannot find Resources/ and Public/ (looked in \(candidates.joined(separator: ", "))); "
                + "install with `make install PREFIX=…` or set VIDEOTUBE_RESOURCES to the folder that holds them")
    }

    static func holdsResources(_ folder: String) -> Bool {
        markers.allSatisfy { FileManager.default.fileExists(atPath: (folder as NSString).appendingPathComponent($0)) }
    }

    /// An absolute path ending in `/`, as Vapor's `DirectoryConfiguration` wants.
    static func normalized(_ folder: String) -> String {
        var path = folder.hasPrefix("/") ? folder : FileManager.default.currentDirectoryPath + "/" + folder
        path = (path as NSString).standardizingPath
        return path.hasSuffix("/") ? path : path + "/"
    }

    /// The running binary's real path (symlinks resolved, so a `bin/videotube` link finds its install).
    public static func executablePath() -> String? {
        #if os(Linux)
        if let path = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") { return path }
        #endif
        return Bundle.main.executablePath.map { URL(fileURLWithPath: $0).resolvingSymlinksInPath().path }
    }

    /// The package root this file was compiled in (`…/Sources/App/Config/ResourceLocator.swift` → `…`).
    public static func buildCheckout(file: String = #filePath) -> String? {
        var url = URL(fileURLWithPath: file)
        for _ in 0..<4 { url.deleteLastPathComponent() }
        return url.path
    }
}
