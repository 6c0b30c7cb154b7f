import App
import Foundation
import Testing
import VaporTesting

/// Operating Videotube: where it finds its files, what its JSON log lines look like, readiness and the worker's
/// queue claims (the e2e suite checks the running binary: metrics, backups, outages, installs).
@Suite("Operations")
struct OperationsTests {
    func folder(withResources: Bool) throws -> String {
        let root = NSTemporaryDirectory() + "resources-\(UUID().uuidString)"
        if withResources {
            try FileManager.default.createDirectory(atPath: root + "/Resources/Views", withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: root + "/Public/css", withIntermediateDirectories: true)
            FileManager.default.createFile(atPath: root + "/Resources/Views/base.leaf", contents: Data())
        } else {
            try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        }
        return root
    }

    @Test("Resources are found beside an installed binary, in the working directory, or where VIDEOTUBE_RESOURCES says")
    func resourceLookup() throws {
        // given: an install layout PREFIX/bin/videotube + PREFIX/share/videotube
        let prefix = try folder(withResources: false)
        let share = prefix + "/share/videotube"
        try FileManager.default.createDirectory(atPath: share + "/Resources/Views", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: share + "/Public/css", withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: share + "/Resources/Views/base.leaf", contents: Data())
        let elsewhere = try folder(withResources: false)
        let checkout = try folder(withResources: true)

        // then: the install wins over the working directory and the build checkout
        #expect(
            try ResourceLocator.locate(environment: [:], executable: prefix + "/bin/videotube", workingDirectory: checkout, sourceCheckout: nil)
                == share + "/")
        // a binary elsewhere, started in a checkout, uses the checkout; started anywhere else, its build checkout
        #expect(try ResourceLocator.locate(environment: [:], executable: elsewhere + "/videotube", workingDirectory: checkout, sourceCheckout: nil) == checkout + "/")
        #expect(try ResourceLocator.locate(environment: [:], executable: elsewhere + "/videotube", workingDirectory: "/", sourceCheckout: checkout) == checkout + "/")
        // the variable wins, and a wrong one is an error naming it (never silently ignored)
        #expect(
            try ResourceLocator.locate(environment: ["VIDEOTUBE_RESOURCES": checkout], executable: prefix + "/bin/videotube", workingDirectory: "/", sourceCheckout: nil)
                == checkout + "/")
        let wrong = #expect(throws: ConfigError.self) {
            try ResourceLocator.locate(environment: ["VIDEOTUBE_RESOURCES": elsewhere], executable: nil, workingDirectory: "/", sourceCheckout: nil)
        }
        #expect(wrong?.variable == "VIDEOTUBE_RESOURCES")
        let nowhere = #expect(throws: ConfigError.self) {
            try ResourceLocator.locate(environment: [:], executable: elsewhere + "/videotube", workingDirectory: elsewhere, sourceCheckout: nil)
        }
        #expect(nowhere?.message.contains("make install") == true)
    }

    @Test("Settings: the metrics address, off, and refusals that name the variable")
    func settings() throws {
        let base = ["VIDEOTUBE_DATA_DIR": NSTemporaryDirectory()]
        #expect(try AppConfig.load(environment: base, arguments: ["videotube"]).metricsAddress == ListenAddress(host: "127.0.0.1", port: 9464))
        #expect(try AppConfig.load(environment: base.merging(["VIDEOTUBE_METRICS_ADDRESS": "off"]) { $1 }, arguments: ["videotube"]).metricsAddress == nil)
        #expect(
            try AppConfig.load(environment: base.merging(["VIDEOTUBE_METRICS_ADDRESS": "[::1]:9100"]) { $1 }, arguments: ["videotube"]).metricsAddress
                == ListenAddress(host: "::1", port: 9100))
        for (name, value) in [("VIDEOTUBE_METRICS_ADDRESS", "9464"), ("VIDEOTUBE_STORAGE", "s3://UPPER"), ("VIDEOTUBE_STORAGE", "ftp://x"),
                              ("VIDEOTUBE_JOB_STALE_SECONDS", "1")] {
            let error = #expect(throws: ConfigError.self) { try AppConfig.load(environment: base.merging([name: value]) { $1 }, arguments: ["videotube"]) }
            #expect(error?.variable == name)
        }
        // A bucket without credentials says which variables to set.
        let missing = #expect(throws: ConfigError.self) {
            try AppConfig.load(environment: base.merging(["VIDEOTUBE_STORAGE": "s3://media?endpoint=http://127.0.0.1:9000"]) { $1 }, arguments: ["videotube"])
        }
        #expect(missing?.message.contains("AWS_SECRET_ACCESS_KEY") == true)
        let s3 = try AppConfig.load(
            environment: base.merging(["VIDEOTUBE_STORAGE": "s3://media/site?endpoint=http://127.0.0.1:9000&path_style=1", "AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b"]) { $1 },
            arguments: ["videotube"])
        #expect(s3.objectStorage?.location.bucket == "media" && s3.objectStorage?.location.prefix == "site")
    }

    @Test("Readiness: ready with the database and storage up, and JSON that says so")
    func readiness() async throws {
        try await withApp { app in
            try await app.testing().test(.GET, "/readyz") { res in
                #expect(res.status == .ok)
                #expect(res.headers.first(name: .cacheControl) == "no-store")
                #expect(res.body.string.contains("\"status\":\"ready\"") && res.body.string.contains("\"migrations\":\"ok\""))
            }
            try await app.testing().test(.GET, "/healthz") { res in
                #expect(res.status == .ok && res.body.string.contains("\"status\":\"ok\""))
            }
        }
    }
}

@Suite("Methods")
struct MethodTests {
    @Test("A known address asked with a method it does not answer is 405 with Allow; an unknown address stays 404")
    func methodNotAllowed() async throws {
        try await withApp { app in
            try await app.testing().test(.PUT, "/api/v1/videos") { res in
                #expect(res.status == .methodNotAllowed)
                #expect(res.headers.first(name: .allow) == "GET, HEAD, POST")
                #expect(res.body.string.contains("\"code\":\"method_not_allowed\""))
            }
            try await app.testing().test(.init(rawValue: "TRACE"), "/readyz") { res in
                #expect(res.status == .methodNotAllowed)
                #expect(res.headers.first(name: .allow) == "GET, HEAD")
            }
            try await app.testing().test(.DELETE, "/@somebody") { res in
                #expect(res.status == .methodNotAllowed)
                #expect(res.headers.first(name: .allow) == "GET, HEAD")
            }
            try await app.testing().test(.POST, "/no-such-page") { res in #expect(res.status == .notFound) }
            try await app.testing().test(.GET, "/api/v1/no-such-thing") { res in #expect(res.status == .notFound) }
            try await app.testing().test(.PUT, "/videos/1/hls/master.m3u8") { res in
                #expect(res.status == .methodNotAllowed)
                #expect(res.headers.first(name: .allow) == "GET, HEAD")
            }
        }
    }
}

@Suite("Failure reasons")
struct FailureReasonTests {
    @Test("A processing failure shown to the owner names files, never where the server keeps them")
    func pathsAreCut() {
        // given what ffmpeg says when the disk is full
        let said = "ffmpeg exited with status 1: Error writing trailer of /var/lib/videotube/media/videos/fe/fe62.mp4: No space left on device"
        // when
        let shown = ProcessingFailure.redacted(said)
        // then
        #expect(shown == "ffmpeg exited with status 1: Error writing trailer of fe62.mp4: No space left on device")
        #expect(ProcessingFailure.redacted("1/2 done, 'a/b' stays") == "1/2 done, 'a/b' stays")
        #expect(ProcessingFailure.redacted("open '/data/x y.mp4'") == "open 'x y.mp4'")
    }
}
