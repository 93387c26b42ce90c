import LambaModel
import LambaOAuth

/// Server-rendered hosted pages: plain HTML forms that work without JavaScript. Every form posts
/// a CSRF token; every value is escaped.
enum HostedPages {
    static func layout(_ title: String, _ body: String) -> String {
        """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(HTML.escape(title))</title>
        <style>body{font-family:system-ui,sans-serif;max-width:26rem;margin:3rem auto;padding:0 1rem;color:#1d1d1f}
        label{display:block;margin:.8rem 0 .2rem}input{width:100%;padding:.5rem;box-sizing:border-box}
        button{margin-top:1rem;padding:.55rem 1rem}.error{color:#b00020}.muted{color:#666}</style></head>
        <body><main>
        \(body)
        </main></body></html>
        """
    }

    static func hidden(_ name: String, _ value: String) -> String {
        "<input type=\"hidden\" name=\"\(HTML.escape(name))\" value=\"\(HTML.escape(value))\">"
    }

    static func message(_ error: String?) -> String {
        error.map { "<p class=\"error\" role=\"alert\">\(HTML.escape($0))</p>" } ?? ""
    }

    static func login(_ info: HostedInteraction.PageInfo, action: String, authz: String, csrf: String, error: String?, signupURL: String?,
                      forgotURL: String? = nil, providerLinks: [(name: String, url: String)] = [], typedEmail: String? = nil,
                      passwordEnabled: Bool = true, passkey: String? = nil) -> String {
        // A failed attempt keeps what the person typed.
        let email = typedEmail ?? info.loginHint ?? ""
        var body = """
            <h1>Sign in to \(HTML.escape(info.projectName))</h1>
            <p class="muted">to continue to \(HTML.escape(info.clientName))</p>
            \(message(error))
            """
        if passwordEnabled {
            body += """
            <form method="post" action="\(HTML.escape(action))">
            \(hidden("csrf_token", csrf))\(hidden("authz", authz))
            <label for="email">Email</label><input id="email" name="email" type="email" autocomplete="username" required value="\(HTML.escape(email))">
            <label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
            <button type="submit">Sign in</button>
            </form>
            """
        }
        if let passkey { body += passkey }
        if let forgotURL, passwordEnabled { body += "<p><a href=\"\(HTML.escape(forgotURL))\">Forgot password?</a></p>" }
        if !providerLinks.isEmpty {
            body += "<p class=\"muted\">or</p>" + providerLinks.map {
                "<p><a class=\"provider\" href=\"\(HTML.escape($0.url))\">Continue with \(HTML.escape($0.name))</a></p>"
            }.joined()
        }
        if let signupURL { body += "<p>New here? <a href=\"\(HTML.escape(signupURL))\">Create an account</a></p>" }
        return layout("Sign in", body)
    }

    /// "Prove it's you": an upstream account with a verified email matches an existing account,
    /// which must be proven (its password, or another provider it has linked) before linking.
    static func proof(_ request: SocialSignIn.ProofRequest, action: String, csrf: String, providerURL: (UpstreamProvider) -> String) -> String {
        var body = """
            <h1>Is this your account?</h1>
            <p>An account with \(HTML.escape(request.email)) exists already. To link \(HTML.escape(request.providerName)) to it, \
            prove it is yours first.</p>
            \(message(request.message))
            """
        if request.hasPassword {
            body += """
                <form method="post" action="\(HTML.escape(action))">
                \(hidden("csrf_token", csrf))\(hidden("authz", request.authz))\(hidden("proof", request.token))
                <label for="password">Password of \(HTML.escape(request.email))</label>
                <input id="password" name="password" type="password" autocomplete="current-password" required>
                <button type="submit">Link and sign in</button>
                </form>
                """
        }
        for other in request.otherProviders {
            body += "<p><a class=\"provider\" href=\"\(HTML.escape(providerURL(other)))\">Prove it with \(HTML.escape(other.name))</a></p>"
        }
        return layout("Link your account", body)
    }

    static func linkFinished(_ message: String, linked: Bool) -> String {
        layout(linked ? "Account linked" : "Link failed", """
            <h1>\(linked ? "Linked" : "The link could not be made")</h1>
            <p class="\(linked ? "muted" : "error")">\(HTML.escape(message))</p>
            <p class="muted">You can close this window and return to the application.</p>
            """)
    }

    static func signup(_ info: HostedInteraction.PageInfo, action: String, authz: String, csrf: String, error: String?,
                       signInURL: String? = nil, form: [String: String] = [:], passwordEnabled: Bool = true) -> String {
        // Without password sign-in the account is made with a passkey, on the next page.
        let credential = passwordEnabled
            ? """
              <label for="password">Password (at least 10 characters)</label><input id="password" name="password" type="password" minlength="10" required autocomplete="new-password">
              <button type="submit">Create account</button>
              """
            : """
              <p class="muted">Next, your device makes a passkey for this account: it signs you in with your screen lock, without a password.</p>
              <button type="submit">Continue</button>
              """
        return layout("Create an account", """
            <h1>Join \(HTML.escape(info.projectName))</h1>
            \(message(error))
            <form method="post" action="\(HTML.escape(action))">
            \(hidden("csrf_token", csrf))\(hidden("authz", authz))
            <label for="name">Name</label><input id="name" name="name" required autocomplete="name" value="\(HTML.escape(form["name"] ?? ""))">
            <label for="email">Email</label><input id="email" name="email" type="email" required autocomplete="username" value="\(HTML.escape(form["email"] ?? ""))">
            \(credential)
            </form>
            \(signInURL.map { "<p>Have an account? <a href=\"\(HTML.escape($0))\">Sign in</a></p>" } ?? "")
            """)
    }

    static func join(_ info: HostedInteraction.PageInfo, action: String, authz: String, csrf: String, error: String?) -> String {
        layout("Join", """
            <h1>Join \(HTML.escape(info.projectName))?</h1>
            <p>You are signed in as \(HTML.escape(info.user?.email ?? "")). \(HTML.escape(info.clientName)) needs you to be a member of this project.</p>
            \(message(error))
            <form method="post" action="\(HTML.escape(action))">\(hidden("csrf_token", csrf))\(hidden("authz", authz))
            <button type="submit">Join \(HTML.escape(info.projectName))</button></form>
            """)
    }

    static func consent(_ info: HostedInteraction.PageInfo, action: String, authz: String, csrf: String, error: String?) -> String {
        let scopes = info.scopes.map { "<li>\(HTML.escape(describe($0)))</li>" }.joined()
        return layout("Allow access", """
            <h1>\(HTML.escape(info.clientName)) wants to access your account</h1>
            <p class="muted">Signed in as \(HTML.escape(info.user?.email ?? "")) in \(HTML.escape(info.projectName))</p>
            <ul>\(scopes)</ul>
            \(message(error))
            <form method="post" action="\(HTML.escape(action))">\(hidden("csrf_token", csrf))\(hidden("authz", authz))
            <button type="submit" name="decision" value="allow">Allow</button>
            <button type="submit" name="decision" value="deny">Deny</button></form>
            """)
    }

    static func selectAccount(_ info: HostedInteraction.PageInfo, action: String, authz: String, csrf: String, error: String?) -> String {
        layout("Choose an account", """
            <h1>Continue to \(HTML.escape(info.projectName))</h1>
            \(message(error))
            <form method="post" action="\(HTML.escape(action))">\(hidden("csrf_token", csrf))\(hidden("authz", authz))
            <button type="submit" name="action" value="continue">Continue as \(HTML.escape(info.user?.email ?? "signed-in user"))</button>
            <button type="submit" name="action" value="switch">Use another account</button></form>
            """)
    }

    static func logout(action: String, parameters: [(String, String)], csrf: String, clientName: String?) -> String {
        let fields = parameters.map { hidden($0.0, $0.1) }.joined()
        return layout("Sign out", """
            <h1>Sign out?</h1>
            <p>\(clientName.map { "\(HTML.escape($0)) asks you to sign out." } ?? "You are about to sign out of every project of this workspace.")</p>
            <form method="post" action="\(HTML.escape(action))">\(hidden("csrf_token", csrf))\(fields)
            <button type="submit">Sign out</button></form>
            """)
    }

    static func signedOut() -> String {
        layout("Signed out", "<h1>You are signed out</h1><p>You can close this window.</p>")
    }

    static func error(_ error: OAuthError) -> String {
        layout("Sign-in error", """
            <h1>This sign-in request cannot continue</h1>
            <p class="error">\(HTML.escape(sentence(error.message)))</p>
            <p class="muted">Go back to the application and start again. (Error code for its developers: \(HTML.escape(error.code.rawValue)).)</p>
            """)
    }

    /// A message as a sentence: capitalised, with a full stop.
    static func sentence(_ message: String) -> String {
        guard let first = message.first else { return message }
        let text = first.uppercased() + message.dropFirst()
        return text.hasSuffix(".") ? text : text + "."
    }

    static func describe(_ scope: String) -> String {
        switch scope {
        case "openid": "Know who you are"
        case "profile": "Your name"
        case "email": "Your email address"
        case "offline_access": "Stay signed in (refresh tokens)"
        default: scope
        }
    }
}
