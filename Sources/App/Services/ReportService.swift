import Fluent
import Foundation
import SQLKit
import Vapor

/// Reports of videos, comments and channels, and the admins' queue. One open report per reporter and target (a
/// second one updates the first); resolving a target closes every open report of it at once.
public struct ReportService: Sendable {
    public let db: any Database

    public init(db: any Database) { self.db = db }

    /// How many reports one user may file per hour.
    public static let perHour = 20

    /// Files (or updates) `reporter`'s report; the target must exist. Throws `CommentFailure`-style 400/404/429.
    public func file(by reporter: User, target: Report.Target, id: Int, reason: Report.Reason, details: String, now: Date = Date())
        async throws -> Report
    {
        let reporterID = try reporter.requireID()
        let details = details.trimmingCharacters(in: .whitespacesAndNewlines)
        guard details.count <= Report.maxDetails else {
            throw ValidationFailure("Details have at most \(Report.maxDetails) characters; these have \(details.count).", field: "details")
        }
        let since = now.addingTimeInterval(-3600)
        let recent = try await Report.query(on: db).filter(\.$reporter.$id == reporterID).filter(\.$createdAt > since).count()
        if recent >= Self.perHour {
            throw Abort(.tooManyRequests, headers: ["Retry-After": "3600"], reason: "You have sent many reports this hour; try again later.")
        }
        // Reporting the same thing again reopens and updates the earlier report.
        let report =
            try await Report.query(on: db).filter(\.$reporter.$id == reporterID).filter(\.$targetType == target)
            .filter(\.$targetID == id).first() ?? Report()
        report.$reporter.id = reporterID
        report.targetType = target
        report.targetID = id
        report.reason = reason
        report.details = details
        report.status = .open
        report.createdAt = now
        report.resolvedAt = nil
        report.resolvedBy = nil
        report.resolution = nil
        try await report.save(on: db)
        return report
    }

    /// Open reports, oldest first.
    public func open(limit: Int = 200) async throws -> [Report] {
        try await Report.query(on: db).filter(\.$status == .open).sort(\.$createdAt).sort(\.$id).limit(limit).with(\.$reporter).all()
    }

    /// How many reports are open.
    public func openCount() async throws -> Int {
        try await Report.query(on: db).filter(\.$status == .open).count()
    }

    /// Closes every open report of the target with what was done.
    public func close(target: Report.Target, id: Int, status: Report.Status, resolution: String, by admin: User, now: Date = Date())
        async throws
    {
        try await db.sql().update(Report.schema)
            .set("status", to: status.rawValue).set("resolution", to: resolution).set("resolved_at", to: now)
            .set("resolved_by", to: admin.id)
            .where("target_type", .equal, target.rawValue).where("target_id", .equal, id).where("status", .equal, Report.Status.open.rawValue)
            .run()
    }
}
