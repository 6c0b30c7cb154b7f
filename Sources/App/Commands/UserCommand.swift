import Fluent
import Foundation
import Vapor

/// `videotube user create|password|list`: accounts from the shell, so the first admin needs no web page.
struct UserCommand: AsyncCommandGroup {
    var help: String { "Creates and manages user accounts (create, password, list)." }
    var commands: [String: any AnyAsyncCommand] {
        ["create": UserCreateCommand(), "password": UserPasswordCommand(), "list": UserListCommand()]
    }
}

/// Reads a password: asked for twice (hidden) on a terminal, one line from stdin otherwise (scripts, CI).
enum PasswordInput {
    static func read(_ context: CommandContext) throws -> String {
        if isatty(STDIN_FILENO) == 1 {
            context.console.output("Password: ", newLine: false)
            let first = context.console.input(isSecure: true)
            context.console.output("Repeat it: ", newLine: false)
            let second = context.console.input(isSecure: true)
            guard first == second else { throw ValidationFailure("The two passwords differ; run the command again.") }
            return first
        }
        guard let line = Swift.readLine(strippingNewline: true), !line.isEmpty else {
            throw ValidationFailure("No password on standard input: pipe one line, e.g. echo \"$PASSWORD\" | videotube user create …")
        }
        return line
    }
}

struct UserCreateCommand: AsyncCommand {
    struct Signature: CommandSignature {
        @Argument(name: "username", help: "3–30 letters, digits, '_', '.' or '-'.")
        var username: String
        @Option(name: "email", short: "e", help: "The user's e-mail address (required).")
        var email: String?
        @Flag(name: "admin", help: "Make the user an administrator.")
        var admin: Bool
        init() {}
    }

    var help: String {
        "Creates a user. Asks for the password on a terminal; otherwise reads it from the first line of stdin."
    }

    func run(using context: CommandContext, signature: Signature) async throws {
        guard let email = signature.email, !email.isEmpty else {
            throw ValidationFailure("--email ADDRESS is required")
        }
        let app = context.application
        try await prepareDatabase(app)
        let password = try PasswordInput.read(context)
        let accounts = app.videotube.accounts(on: app.db)
        let user = try await accounts.signUp(
            username: signature.username, email: email, password: password, role: signature.admin ? .admin : .user)
        context.console.print("Created \(user.isAdmin ? "admin" : "user") \(user.username) (id \(user.id ?? 0)).")
    }
}

struct UserPasswordCommand: AsyncCommand {
    struct Signature: CommandSignature {
        @Argument(name: "username", help: "Whose password to set.")
        var username: String
        init() {}
    }

    var help: String { "Sets a user's password and signs them out everywhere (password read as for create)." }

    func run(using context: CommandContext, signature: Signature) async throws {
        let app = context.application
        try await prepareDatabase(app)
        guard let user = try await User.query(on: app.db).filter(\.$username == signature.username.lowercased()).first() else {
            throw ValidationFailure("There is no user '\(signature.username)'; see videotube user list.")
        }
        let password = try PasswordInput.read(context)
        let accounts = app.videotube.accounts(on: app.db)
        try await accounts.setPassword(user, to: password)
        try await accounts.signOutEverywhere(userID: try user.requireID())
        context.console.print("Password of \(user.username) changed; their sessions and tokens were ended.")
    }
}

struct UserListCommand: AsyncCommand {
    struct Signature: CommandSignature { init() {} }

    var help: String { "Lists users: id, username, e-mail, role, state." }

    func run(using context: CommandContext, signature: Signature) async throws {
        let app = context.application
        try await prepareDatabase(app)
        for user in try await User.query(on: app.db).sort(\.$id).all() {
            context.console.print(
                "\(user.id ?? 0)\t\(user.username)\t\(user.email)\t\(user.role.rawValue)\(user.disabled ? "\tdisabled" : "")")
        }
    }
}
