import LambaModel
import LambaOAuth

/// Server-rendered hosted pages: plain HTML forms that work without JavaScript. Every form posts
/// a CSRF token; every value is escaped.
enum HostedPages {
    /// Every hosted page: the language of this request in `<html lang>`, the viewport of a phone,
    /// and the one stylesheet (docs/hosted-pages.md#the-stylesheet).
    static func layout(_ title: String, _ body: String) -> String {
        let brand = HostedPageBrandingMiddleware.current
        // Validated when stored (ProjectBranding.validated); the text colour is chosen for contrast.
        let accent = brand?.primaryColor.flatMap { color in
            ProjectBranding.textColor(on: color).map { HostedPageStylesheet.Accent(primary: color, onPrimary: $0) }
        } ?? .lamba
        var header = ""
        if let brand, brand.displayName != nil || brand.logoURL != nil {
            let logo = brand.logoURL.map { "<img src=\"\(HTML.escape($0))\" alt=\"\">" } ?? ""
            header = "<div class=\"brand\">\(logo)\(brand.displayName.map { "<span>\(HTML.escape($0))</span>" } ?? "")</div>"
        }
        return """
        <!DOCTYPE html>
        <html lang="\(HostedPageStrings.current.language.tag)"><head><meta charset="utf-8">\
        <meta name="viewport" content="width=device-width, initial-scale=1"><meta name="color-scheme" content="light dark">
        <title>\(HTML.escape(title))</title>
        <style>\(HostedPageStylesheet.css(accent))</style></head>
        <body><main>
        \(header)\(body)
        </main></body></html>
        """
    }

    static func hidden(_ name: String, _ value: String) -> String {
        "<input type=\"hidden\" name=\"\(HTML.escape(name))\" value=\"\(HTML.escape(value))\">"
    }

    static func message(_ error: String?) -> String {
        error.map { "<p class=\"error\" role=\"alert\">\(HTML.escape(HostedPageStrings.current.say($0)))</p>" } ?? ""
    }

    /// Where to send "Not you?" (docs/hosted-pages.md#not-you): the issuer's `/not-you`, with the
    /// pending request it returns to the sign-in form for.
    struct NotYou: Sendable {
        var action: String
        var authz: String
        var csrf: String
    }

    /// "Signed in as …" with its "Not you?" button, and the form that button submits. The form
    /// goes last on the page (the button names it with `form=`), so that a page's first form stays
    /// the one the page is for.
    static func account(_ email: String, projectName: String? = nil, notYou: NotYou?) -> (line: String, form: String) {
        let t = HostedPageStrings.current
        let who = projectName.map { t.signedInAsIn(email, $0) } ?? t.signedInAs(email)
        guard let notYou else { return ("<p class=\"account\"><span>\(HTML.escape(who))</span></p>", "") }
        return ("""
            <p class="account"><span>\(HTML.escape(who))</span> \
            <button type="submit" form="not-you" class="link">\(HTML.escape(t.notYou))</button></p>
            """, """
            <form id="not-you" method="post" action="\(HTML.escape(notYou.action))">\(hidden("csrf_token", notYou.csrf))\(hidden("authz", notYou.authz))</form>
            """)
    }

    static func login(_ info: HostedInteraction.PageInfo, action: String, authz: String, csrf: String, error: String?, signupURL: String?,
                      forgotURL: String? = nil, providerLinks: [(name: String, url: String)] = [], typedEmail: String? = nil,
                      passwordEnabled: Bool = true, passkey: String? = nil) -> String {
        let t = HostedPageStrings.current
        // A failed attempt keeps what the person typed.
        let email = typedEmail ?? info.loginHint ?? ""
        var body = """
            <h1>\(HTML.escape(t.signInHeading(info.projectName)))</h1>
            <p class="muted">\(HTML.escape(t.continueTo(info.clientName)))</p>
            \(message(error))
            """
        if passwordEnabled {
            body += """
            <form method="post" action="\(HTML.escape(action))">
            \(hidden("csrf_token", csrf))\(hidden("authz", authz))
            <label for="email">\(HTML.escape(t.email))</label><input id="email" name="email" type="email" autocomplete="username" required value="\(HTML.escape(email))">
            <label for="password">\(HTML.escape(t.password))</label><input id="password" name="password" type="password" autocomplete="current-password" required>
            <button type="submit" class="primary">\(HTML.escape(t.signInButton))</button>
            </form>
            """
        }
        if let passkey { body += passkey }
        if let forgotURL, passwordEnabled { body += "<p><a href=\"\(HTML.escape(forgotURL))\">\(HTML.escape(t.forgotPassword))</a></p>" }
        if !providerLinks.isEmpty {
            body += "<p class=\"separator\">\(HTML.escape(t.or))</p>" + providerLinks.map {
                "<p><a class=\"provider button secondary\" href=\"\(HTML.escape($0.url))\">\(HTML.escape(t.continueWith($0.name)))</a></p>"
            }.joined()
        }
        if let signupURL {
            body += "<p>\(HTML.escape(t.newHere)) <a id=\"signup-link\" href=\"\(HTML.escape(signupURL))\">\(HTML.escape(t.createAccountLink))</a></p>"
        }
        return layout(t.signInTitle, body)
    }

    /// "Prove it's you": an upstream account with a verified email matches an existing account,
    /// which must be proven (its password, or another provider it has linked) before linking.
    static func proof(_ request: SocialSignIn.ProofRequest, action: String, csrf: String, providerURL: (UpstreamProvider) -> String) -> String {
        let t = HostedPageStrings.current
        var body = """
            <h1>\(HTML.escape(t.proofHeading))</h1>
            <p>\(HTML.escape(t.proofText(request.email, request.providerName)))</p>
            \(message(request.message))
            """
        if request.hasPassword {
            body += """
                <form method="post" action="\(HTML.escape(action))">
                \(hidden("csrf_token", csrf))\(hidden("authz", request.authz))\(hidden("proof", request.token))
                <label for="password">\(HTML.escape(t.proofPassword(request.email)))</label>
                <input id="password" name="password" type="password" autocomplete="current-password" required>
                <button type="submit" class="primary">\(HTML.escape(t.proofButton))</button>
                </form>
                """
        }
        for other in request.otherProviders {
            body += "<p><a class=\"provider button secondary\" href=\"\(HTML.escape(providerURL(other)))\">\(HTML.escape(t.proofWith(other.name)))</a></p>"
        }
        return layout(t.proofTitle, body)
    }

    static func linkFinished(_ message: String, linked: Bool) -> String {
        let t = HostedPageStrings.current
        return layout(linked ? t.linkedTitle : t.linkFailedTitle, """
            <h1>\(HTML.escape(linked ? t.linkedHeading : t.linkFailedHeading))</h1>
            <p class="\(linked ? "notice" : "error")">\(HTML.escape(t.say(message)))</p>
            <p class="muted">\(HTML.escape(t.returnToApplication))</p>
            """)
    }

    static func signup(_ info: HostedInteraction.PageInfo, action: String, authz: String, csrf: String, error: String?,
                       signInURL: String? = nil, form: [String: String] = [:], passwordEnabled: Bool = true) -> String {
        let t = HostedPageStrings.current
        // Without password sign-in the account is made with a passkey, on the next page.
        let credential = passwordEnabled
            ? """
              <label for="password">\(HTML.escape(t.choosePassword))</label><input id="password" name="password" type="password" minlength="10" required autocomplete="new-password">
              <button type="submit" class="primary">\(HTML.escape(t.createAccountButton))</button>
              """
            : """
              <p class="muted">\(HTML.escape(t.passkeySignupNext))</p>
              <button type="submit" class="primary">\(HTML.escape(t.continueButton))</button>
              """
        return layout(t.signupTitle, """
            <h1>\(HTML.escape(t.signupHeading(info.projectName)))</h1>
            \(message(error))
            <form method="post" action="\(HTML.escape(action))">
            \(hidden("csrf_token", csrf))\(hidden("authz", authz))
            <label for="name">\(HTML.escape(t.name))</label><input id="name" name="name" required autocomplete="name" value="\(HTML.escape(form["name"] ?? ""))">
            <label for="email">\(HTML.escape(t.email))</label><input id="email" name="email" type="email" required autocomplete="username" value="\(HTML.escape(form["email"] ?? ""))">
            \(credential)
            </form>
            \(signInURL.map { "<p>\(HTML.escape(t.haveAccount)) <a id=\"signin-link\" href=\"\(HTML.escape($0))\">\(HTML.escape(t.signInLink))</a></p>" } ?? "")
            """)
    }

    static func join(_ info: HostedInteraction.PageInfo, action: String, authz: String, csrf: String, error: String?, notYou: NotYou? = nil) -> String {
        let t = HostedPageStrings.current
        let signedIn = account(info.user?.email ?? "", notYou: notYou)
        return layout(t.joinTitle, """
            <h1>\(HTML.escape(t.joinHeading(info.projectName)))</h1>
            \(signedIn.line)
            <p>\(HTML.escape(t.joinExplanation(info.clientName)))</p>
            \(message(error))
            <form method="post" action="\(HTML.escape(action))">\(hidden("csrf_token", csrf))\(hidden("authz", authz))
            <button type="submit" class="primary">\(HTML.escape(t.joinButton(info.projectName)))</button></form>
            \(signedIn.form)
            """)
    }

    static func consent(_ info: HostedInteraction.PageInfo, action: String, authz: String, csrf: String, error: String?, notYou: NotYou? = nil) -> String {
        let t = HostedPageStrings.current
        let scopes = info.scopes.map { "<li>\(HTML.escape(describe($0)))</li>" }.joined()
        let signedIn = account(info.user?.email ?? "", projectName: info.projectName, notYou: notYou)
        return layout(t.consentTitle, """
            <h1>\(HTML.escape(t.consentHeading(info.clientName)))</h1>
            \(signedIn.line)
            <ul>\(scopes)</ul>
            \(message(error))
            <form method="post" action="\(HTML.escape(action))">\(hidden("csrf_token", csrf))\(hidden("authz", authz))
            <div class="actions"><button type="submit" class="primary" name="decision" value="allow">\(HTML.escape(t.allow))</button>
            <button type="submit" class="secondary" name="decision" value="deny">\(HTML.escape(t.deny))</button></div></form>
            \(signedIn.form)
            """)
    }

    static func selectAccount(_ info: HostedInteraction.PageInfo, action: String, authz: String, csrf: String, error: String?) -> String {
        let t = HostedPageStrings.current
        return layout(t.chooseAccountTitle, """
            <h1>\(HTML.escape(t.continueToHeading(info.projectName)))</h1>
            \(message(error))
            <form method="post" action="\(HTML.escape(action))">\(hidden("csrf_token", csrf))\(hidden("authz", authz))
            <button type="submit" class="primary" name="action" value="continue">\(HTML.escape(t.continueAs(info.user?.email ?? "")))</button>
            <button type="submit" class="secondary" name="action" value="switch">\(HTML.escape(t.useAnotherAccount))</button></form>
            """)
    }

    static func logout(action: String, parameters: [(String, String)], csrf: String, clientName: String?) -> String {
        let t = HostedPageStrings.current
        let fields = parameters.map { hidden($0.0, $0.1) }.joined()
        return layout(t.signOutTitle, """
            <h1>\(HTML.escape(t.signOutHeading))</h1>
            <p>\(HTML.escape(clientName.map { t.clientAsksSignOut($0) } ?? t.signOutEverywhere))</p>
            <form method="post" action="\(HTML.escape(action))">\(hidden("csrf_token", csrf))\(fields)
            <button type="submit" class="primary">\(HTML.escape(t.signOutButton))</button></form>
            """)
    }

    static func signedOut() -> String {
        let t = HostedPageStrings.current
        return layout(t.signedOutTitle, "<h1>\(HTML.escape(t.signedOutHeading))</h1><p>\(HTML.escape(t.closeWindow))</p>")
    }

    /// An error in words (docs/hosted-pages.md#error-pages): what happened, for the person, then
    /// the code and description for the application's developers in a small line.
    static func error(_ error: OAuthError) -> String {
        let t = HostedPageStrings.current
        return layout(t.errorTitle, """
            <h1>\(HTML.escape(t.errorHeading))</h1>
            <p class="error" role="alert">\(HTML.escape(explain(error)))</p>
            <p>\(HTML.escape(t.errorAdvice))</p>
            <p class="developer">\(HTML.escape(t.errorCode(error.code.rawValue)))<br>\(HTML.escape(sentence(error.message)))</p>
            """)
    }

    /// The sentence a person reads for an error code (RFC 6749 §4.1.2.1, §5.2; OIDC Core §3.1.2.6).
    static func explain(_ error: OAuthError) -> String {
        let t = HostedPageStrings.current
        switch error.code {
        case .invalidRequest: return t.errorInvalidRequest
        case .invalidClient, .unauthorizedClient: return t.errorUnknownClient
        case .invalidRedirectURI: return t.errorRedirectURI
        case .invalidGrant, .invalidToken: return t.errorExpired
        case .unsupportedResponseType, .unsupportedGrantType, .unsupportedTokenType: return t.errorUnsupported
        case .invalidScope, .insufficientScope: return t.errorScope
        // The CSRF check refuses a stale form as access_denied (CSRFProtection).
        case .accessDenied: return error.message == CSRFProtection.formExpired ? t.errorFormExpired : t.errorAccessDenied
        case .serverError: return t.errorServer
        case .temporarilyUnavailable: return t.errorUnavailable
        case .tooManyRequests: return t.errorTooMany
        case .loginRequired, .consentRequired, .interactionRequired, .accountSelectionRequired, .insufficientUserAuthentication:
            return t.errorSignInAgain
        case .requestNotSupported, .requestURINotSupported, .registrationNotSupported: return t.errorNotSupported
        case .notFound: return t.errorNotFound
        default: return t.errorOther
        }
    }

    /// A message as a sentence: capitalised, with a full stop.
    static func sentence(_ message: String) -> String {
        guard let first = message.first else { return message }
        let text = first.uppercased() + message.dropFirst()
        return text.hasSuffix(".") ? text : text + "."
    }

    static func describe(_ scope: String) -> String {
        let t = HostedPageStrings.current
        return switch scope {
        case "openid": t.scopeOpenID
        case "profile": t.scopeProfile
        case "email": t.scopeEmail
        case "offline_access": t.scopeOfflineAccess
        default: scope
        }
    }
}
