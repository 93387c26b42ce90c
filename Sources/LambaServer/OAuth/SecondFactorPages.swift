import LambaModel
import LambaOAuth
import LambaQRCode

/// The second step of sign-in (docs/account-security.md#second-step): the code form, the
/// authenticator-app enrolment with its QR code drawn on the server, and the recovery codes shown once.
extension HostedPages {
    static func secondFactor(_ info: HostedInteraction.PageInfo, enrolment: SecondFactors.Enrolment?, action: String, authz: String, csrf: String,
                             error: String?) -> String {
        let form = """
            <form method="post" action="\(HTML.escape(action))">
            \(hidden("csrf_token", csrf))\(hidden("authz", authz))
            <label for="code">\(enrolment == nil ? "Code from your authenticator app, or a recovery code" : "The 6-digit code the app shows")</label>
            <input id="code" name="code" required autocomplete="one-time-code" autocapitalize="none" spellcheck="false" maxlength="32" autofocus>
            <button type="submit">\(enrolment == nil ? "Verify" : "Turn on two-step verification")</button>
            </form>
            """
        let account = "<p class=\"muted\">Signed in as \(HTML.escape(info.user?.email ?? "")) to \(HTML.escape(info.projectName))</p>"
        guard let enrolment else {
            return layout("Two-step verification", """
                <h1>Enter your code</h1>
                \(account)
                <p>Open your authenticator app and type the 6-digit code for \(HTML.escape(info.projectName)). \
                Lost the app? Type one of your recovery codes instead.</p>
                \(message(error))
                \(form)
                """)
        }
        // Key URIs are short ASCII, far below a QR symbol's capacity; without a symbol the secret below still works.
        let symbol = (try? QRCode(enrolment.keyURI))?.svg(pixelsPerModule: 5) ?? ""
        return layout("Set up two-step verification", """
            <h1>Set up two-step verification</h1>
            \(account)
            <p>\(HTML.escape(info.projectName)) asks for a second step at sign-in. Scan this code with an authenticator app \
            (such as 1Password, Google Authenticator or Aegis), then type the code it shows.</p>
            <figure class="qr" role="img" aria-label="QR code holding the secret for your authenticator app">\(symbol)</figure>
            <p class="muted">Can't scan? Enter this key by hand: <code class="secret">\(HTML.escape(grouped(enrolment.base32Secret)))</code></p>
            \(message(error))
            \(form)
            """)
    }

    /// Shown once: the page never comes back, and only hashes are stored.
    static func recoveryCodes(_ codes: [String], continueURL: String) -> String {
        let items = codes.map { "<li><code>\(HTML.escape($0))</code></li>" }.joined()
        return layout("Save your recovery codes", """
            <h1>Save your recovery codes</h1>
            <p>Two-step verification is on. If you lose your authenticator app, each of these codes signs you in once. \
            Keep them somewhere safe: this is the only time they are shown.</p>
            <ul class="codes">\(items)</ul>
            <p><a class="button" href="\(HTML.escape(continueURL))">I have saved them, continue</a></p>
            """)
    }

    /// `ABCD EFGH …`: a long key is easier to type in groups of four.
    static func grouped(_ secret: String) -> String {
        var out = ""
        for (index, character) in secret.enumerated() {
            if index > 0 && index % 4 == 0 { out.append(" ") }
            out.append(character)
        }
        return out
    }
}
