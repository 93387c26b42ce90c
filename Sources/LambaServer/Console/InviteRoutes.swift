import HTTPTypes
import LambaJOSE
import LambaModel

/// Invite acceptance: the token plus the invitee's credentials. An existing Lamba User gives their
/// password; someone new also gives a name and gets an account. Team invites make a Team Member,
/// Project invites a Project Member, never both.
enum InviteRoutes {
    static let routes: [ConsoleRoute] = [
        ConsoleRoute(.post, "/console/v1/invites/accept", "acceptInvite", "Accept a team or Project invite with the invitee's credentials",
                     access: .anonymous,
                     request: .object([("token", .string(maxLength: 256)), ("email", ConsoleSchemas.email), ("password", ConsoleSchemas.password),
                                       ("name", ConsoleSchemas.name)],
                                      required: ["token", "email", "password"]),
                     response: .object([("invite", .ref("Invite")), ("user", .ref("User"))])) { call in
            let (invite, user) = try await call.services.members.acceptInvite(
                token: call.string("token") ?? "", email: call.string("email") ?? "", password: call.string("password") ?? "", name: call.string("name"))
            return .object(["invite": ConsoleJSON.invite(invite, token: nil), "user": ConsoleJSON.user(user)])
        },
    ]
}
