import LambaModel
import LambaOAuth
import LambaQRCode

/// The second step of sign-in (docs/account-security.md#second-step): the code form, the
/// authenticator-app enrolment with its QR code drawn on the server, and the recovery codes shown once.
extension HostedPages {
    static func secondFactor(_ info: HostedInteraction.PageInfo, enrolment: SecondFactors.Enrolment?, action: String, authz: String, csrf: String,
                             error: String?, notYou: NotYou? = nil) -> String {
        let t = HostedPageStrings.current
        let form = """
            <form method="post" action="\(HTML.escape(action))">
            \(hidden("csrf_token", csrf))\(hidden("authz", authz))
            <label for="code">\(HTML.escape(enrolment == nil ? t.secondFactorCodeLabel : t.enrolmentCodeLabel))</label>
            <input id="code" name="code" required autocomplete="one-time-code" autocapitalize="none" spellcheck="false" maxlength="32" autofocus>
            <button type="submit" class="primary">\(HTML.escape(enrolment == nil ? t.secondFactorVerify : t.enrolmentButton))</button>
            </form>
            """
        let signedIn = account(info.user?.email ?? "", projectName: info.projectName, notYou: notYou)
        guard let enrolment else {
            return layout(t.secondFactorTitle, """
                <h1>\(HTML.escape(t.secondFactorHeading))</h1>
                \(signedIn.line)
                <p>\(HTML.escape(t.secondFactorInstructions(info.projectName)))</p>
                \(message(error))
                \(form)
                \(signedIn.form)
                """)
        }
        // Key URIs are short ASCII, far below a QR symbol's capacity; without a symbol the secret below still works.
        let symbol = (try? QRCode(enrolment.keyURI))?.svg(pixelsPerModule: 5) ?? ""
        return layout(t.enrolmentTitle, """
            <h1>\(HTML.escape(t.enrolmentTitle))</h1>
            \(signedIn.line)
            <p>\(HTML.escape(t.enrolmentInstructions(info.projectName)))</p>
            <figure class="qr" role="img" aria-label="\(HTML.escape(t.enrolmentQRLabel))">\(symbol)</figure>
            <p class="muted">\(HTML.escape(t.enrolmentManualKey)) <code class="secret">\(HTML.escape(grouped(enrolment.base32Secret)))</code></p>
            \(message(error))
            \(form)
            \(signedIn.form)
            """)
    }

    /// Shown once: the page never comes back, and only hashes are stored.
    static func recoveryCodes(_ codes: [String], continueURL: String) -> String {
        let t = HostedPageStrings.current
        let items = codes.map { "<li><code>\(HTML.escape($0))</code></li>" }.joined()
        return layout(t.recoveryCodesTitle, """
            <h1>\(HTML.escape(t.recoveryCodesTitle))</h1>
            <p>\(HTML.escape(t.recoveryCodesText))</p>
            <ul class="codes">\(items)</ul>
            <p><a class="button" href="\(HTML.escape(continueURL))">\(HTML.escape(t.recoveryCodesContinue))</a></p>
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
