import Foundation
import LambaModel
@testable import LambaOAuth
import Testing

/// docs/account-recovery.md#mail-templates: every kind of mail renders from a template pair, values
/// escaped in the HTML part and verbatim in the subject and the text part.
@Suite("mail templates")
struct MailTemplateTests {
    static let hostile = "Tom & <b>\"Jerry\"</b>'s"

    static func context(_ environment: Environment, projectName: String = hostile) -> ProviderContext {
        let workspace = Workspace(slug: "acme", name: "Acme & Co")
        let project = Project(workspaceID: workspace.id, slug: "rides", name: projectName, visibility: .private)
        return ProviderContext(workspace: workspace, project: project, environment: environment,
                               settings: EnvironmentSettings(projectID: project.id, environment: environment),
                               issuer: "https://id.example/p/rides/\(environment.rawValue)")
    }

    @Test("every kind's standard template compiles and renders each of its values")
    func standardTemplates_compileAndUseTheirValues() {
        for kind in MailKind.allCases {
            var values = Dictionary(uniqueKeysWithValues: (MailTemplate.commonValues + kind.values).map { ($0, "<\($0)>") })
            values["name"] = "<name>"
            let rendered = MailTemplate.standard(kind).render(values)
            for name in kind.values {
                #expect(rendered.text.contains("<\(name)>"), "\(kind) text uses \(name)")
                #expect(rendered.html.contains("&lt;\(name)&gt;"), "\(kind) html uses \(name), escaped")
                #expect(!rendered.html.contains("<\(name)>"), "\(kind) html never holds \(name) unescaped")
            }
            #expect(!rendered.subject.isEmpty && !rendered.subject.contains("&lt;"), "\(kind) subject is text")
        }
    }

    @Test("values are HTML-escaped in the HTML part and verbatim in the subject and the text part")
    func values_escapedInHTML_verbatimInText() {
        let user = LambaUser(email: "o'brien@example.com", emailVerified: true, name: "O'Brien <admin>", passwordHash: nil)
        let link = "https://id.example/p/rides/production/password/reset?token=a&b=\"c\""
        let mail = AccountMail.passwordReset(user, link: link, Self.context(.production), at: Date())
        #expect(mail.kind == "password_reset" && mail.recipient == "o'brien@example.com")
        #expect(mail.subject == "Reset your \(Self.hostile) password", "no [sandbox] in production, nothing escaped: \(mail.subject)")
        #expect(mail.text.hasPrefix("Hello O'Brien <admin>,\n\n"))
        #expect(mail.text.contains("Someone asked to reset the password of your \(Self.hostile) account (o'brien@example.com)."))
        #expect(mail.text.contains("\n\(link)\n"), "the link alone on its line, as it is")
        #expect(!mail.text.contains("&amp;") && !mail.text.contains("&lt;") && !mail.text.contains("&#39;"))
        #expect(mail.text.hasSuffix("— \(Self.hostile)\n"))

        #expect(mail.html.contains("<p>Hello O&#39;Brien &lt;admin&gt;,</p>"))
        #expect(mail.html.contains("Tom &amp; &lt;b&gt;&quot;Jerry&quot;&lt;/b&gt;&#39;s"))
        #expect(!mail.html.contains("<b>") && !mail.html.contains(Self.hostile))
        #expect(mail.html.contains("href=\"https://id.example/p/rides/production/password/reset?token=a&amp;b=&quot;c&quot;\""))
    }

    @Test("sandbox mail says so in its subject; each kind keeps its subject line")
    func subjects_andSandboxPrefix() {
        let user = LambaUser(email: "rider@example.com", emailVerified: true, name: "Rider", passwordHash: nil)
        let sandbox = Self.context(.sandbox, projectName: "Rides")
        let now = Date()
        #expect(AccountMail.passwordReset(user, link: "https://l", sandbox, at: now).subject == "[sandbox] Reset your Rides password")
        #expect(AccountMail.emailVerification(user, link: "https://l", sandbox, at: now).subject == "[sandbox] Confirm your email for Rides")
        #expect(AccountMail.passwordChanged(user, sandbox, at: now).subject == "[sandbox] Your Rides password was changed")
        let change = AccountMail.emailChange(user, newEmail: "new@example.com", link: "https://l", sandbox, at: now)
        #expect(change.subject == "[sandbox] Confirm your new email for Rides" && change.recipient == "new@example.com" && change.kind == "email_change")
        let notice = AccountMail.emailChangeNotice(user, newEmail: "new@example.com", sandbox, at: now)
        #expect(notice.recipient == "rider@example.com" && notice.kind == "email_change_notice")
        #expect(notice.text.contains("from rider@example.com to new@example.com") && !notice.text.contains("https://"))
        let workspace = Workspace(slug: "acme", name: "Acme")
        let invite = Invite(id: "inv_1", kind: .team, workspaceID: workspace.id, projectID: nil, email: "guest@example.com", workspaceRole: .developer,
                            projectConsoleRoles: [:], projectRole: nil, tokenHash: "h", invitedBy: "usr_1", createdAt: now,
                            expiresAt: now.addingTimeInterval(3600), acceptedAt: nil, revokedAt: nil)
        let invited = AccountMail.invite(invite, link: "https://l", workspace: workspace, project: nil, at: now)
        #expect(invited.subject == "You are invited to the Acme team" && invited.environment == nil && invited.text.hasPrefix("Hello,\n"))
    }

    @Test("a template that does not compile is refused with its part and position")
    func malformedTemplate_refusedWithPosition() {
        #expect(throws: MailTemplate.Invalid.self) { try MailTemplate(subject: "ok", text: "fine", html: "<p>{{#link}}</p>") }
        do {
            _ = try MailTemplate(subject: "ok", text: "line one\n{{name", html: "")
            Issue.record("compiled")
        } catch {
            #expect(error.part == "text" && error.line == 2, "\(error)")
            #expect(error.description.hasPrefix("the text template does not compile: a tag is not closed"), "\(error)")
        }
    }
}
