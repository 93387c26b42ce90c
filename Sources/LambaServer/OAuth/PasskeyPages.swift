import Foundation
import LambaJOSE
import LambaModel
import LambaOAuth

/// Passkeys on the hosted pages (docs/account-security.md#passkeys). The only script of the hosted
/// pages runs here, under a per-response nonce: it hands the options to `navigator.credentials`
/// and posts the browser's answer back in an ordinary form, base64url-encoded. Without it (or
/// without WebAuthn in the browser) the rest of every page still works.
extension HostedPages {
    /// A fresh CSP nonce (CSP Level 3 §6.7.2.3: at least 128 bits, unguessable).
    static func scriptNonce() -> String { Base64URL.encode((try? SecureRandom.bytes(16)) ?? []) }

    /// The hosted pages' policy, with this nonce allowed to run the passkey script.
    static func contentSecurityPolicy(nonce: String) -> String {
        HostedPageRoutes.contentSecurityPolicy + "; script-src 'nonce-\(nonce)'"
    }

    /// The form the script fills: the ceremony's options ride in a data attribute (HTML-escaped
    /// JSON), the sealed challenge in a hidden field.
    static func passkeyForm(_ ceremony: PasskeyCeremonies.Ceremony, kind: String, action: String, csrf: String, fields: String,
                            button: String, buttonClass: String, nonce: String) -> String {
        """
        <form id="passkey" method="post" action="\(HTML.escape(action))" data-ceremony="\(kind)" \
        data-options="\(HTML.escape(JSON.encodeString(ceremony.options)))" \
        data-unsupported="\(HTML.escape(HostedPageStrings.current.passkeyUnsupported))" \
        data-failed="\(HTML.escape(HostedPageStrings.current.passkeyFailed))">
        \(hidden("csrf_token", csrf))\(hidden("ceremony", ceremony.token))\(hidden("credential", ""))\(fields)
        <button type="button" class="\(buttonClass)" data-passkey>\(HTML.escape(button))</button>
        <p id="passkey-status" class="error" role="status"></p>
        </form>
        <script nonce="\(nonce)">\(passkeyScript)</script>
        """
    }

    /// "Sign in with a passkey" under the password form.
    static func passkeySignIn(_ ceremony: PasskeyCeremonies.Ceremony, action: String, authz: String, csrf: String, nonce: String) -> String {
        passkeyForm(ceremony, kind: "get", action: action, csrf: csrf, fields: hidden("authz", authz), button: HostedPageStrings.current.passkeySignIn,
                    buttonClass: "secondary", nonce: nonce)
    }

    /// Sign-up's second page where passkeys are the way in: the browser makes the new account's
    /// passkey, and posting it creates the account.
    static func passkeySignUp(_ ceremony: PasskeyCeremonies.Ceremony, email: String, projectName: String, action: String, authz: String,
                              csrf: String, nonce: String, otherEmailURL: String) -> String {
        let t = HostedPageStrings.current
        return layout(t.passkeySignupTitle, """
            <h1>\(HTML.escape(t.passkeySignupTitle))</h1>
            <p>\(HTML.escape(t.passkeySignupText(projectName, email)))</p>
            \(passkeyForm(ceremony, kind: "create", action: action, csrf: csrf, fields: hidden("authz", authz), button: t.passkeyCreateButton,
                          buttonClass: "primary", nonce: nonce))
            <p><a href="\(HTML.escape(otherEmailURL))">\(HTML.escape(t.useAnotherEmail))</a></p>
            """)
    }

    /// The account page: the user's passkeys, "Add a passkey", and a remove button for each.
    static func passkeyAccount(_ page: HostedInteraction.PasskeyAccountPage, action: String, csrf: String, nonce: String,
                               notice: String?, error: String?) -> String {
        let t = HostedPageStrings.current
        var body = """
            <h1>\(HTML.escape(t.passkeysTitle))</h1>
            \(account(page.user.email, projectName: page.projectName, notYou: nil).line)
            \(notice.map { "<p class=\"notice\" role=\"status\">\(HTML.escape(t.say($0)))</p>" } ?? "")
            \(message(error))
            """
        if page.passkeys.isEmpty {
            body += "<p>\(HTML.escape(t.passkeysNone))</p>"
        } else {
            body += "<ul class=\"passkeys\">" + page.passkeys.map { passkey in
                let added = t.passkeyAdded(String(passkey.createdAt.formatted(.iso8601).prefix(10)))
                    + (passkey.lastUsedAt.map { t.passkeyLastUsed(String($0.formatted(.iso8601).prefix(10))) } ?? "")
                    + (passkey.backupEligible ? t.passkeySynced : t.passkeyThisDevice)
                return """
                <li><strong>\(HTML.escape(passkey.name))</strong> <span class="muted">\(HTML.escape(added))</span>
                <form method="post" action="\(HTML.escape(action))">\(hidden("csrf_token", csrf))\(hidden("action", "remove"))\
                \(hidden("passkey_id", passkey.id))<button type="submit" class="secondary">\(HTML.escape(t.passkeyRemove))</button></form></li>
                """
            }.joined() + "</ul>"
        }
        if !page.enabled {
            body += "<p class=\"muted\">\(HTML.escape(t.passkeysOff(page.projectName)))</p>"
        } else if let registration = page.registration {
            body += passkeyForm(registration, kind: "create", action: action, csrf: csrf, fields: """
                \(hidden("action", "add"))<label for="name">\(HTML.escape(t.passkeyNameLabel))</label>\
                <input id="name" name="name" maxlength="\(PasskeyCeremonies.maximumNameLength)" placeholder="\(HTML.escape(t.passkeyNamePlaceholder))">
                """, button: t.passkeyAdd, buttonClass: "primary", nonce: nonce)
        } else {
            body += "<p class=\"muted\">\(HTML.escape(t.passkeysReauthenticate))</p>"
        }
        return layout(t.passkeysTitle, body)
    }

    /// Both ceremonies: decode the base64url fields of the options, call the browser, encode its
    /// answer (WebAuthn L3 §5.1.3, §5.1.4) and submit the form.
    static let passkeyScript = """
        (() => {
          const form = document.getElementById("passkey");
          const button = form && form.querySelector("button[data-passkey]");
          const status = document.getElementById("passkey-status");
          if (!button) return;
          if (!window.PublicKeyCredential || !navigator.credentials) {
            button.disabled = true;
            status.textContent = form.dataset.unsupported;
            return;
          }
          const bytes = (text) => Uint8Array.from(
            atob(text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4)), (c) => c.charCodeAt(0));
          const text = (buffer) => {
            let binary = "";
            for (const byte of new Uint8Array(buffer)) binary += String.fromCharCode(byte);
            return btoa(binary).replace(/\\+/g, "-").replace(/\\//g, "_").replace(/=+$/, "");
          };
          button.addEventListener("click", async () => {
            const options = JSON.parse(form.dataset.options);
            options.challenge = bytes(options.challenge);
            for (const list of [options.excludeCredentials, options.allowCredentials]) {
              if (list) for (const descriptor of list) descriptor.id = bytes(descriptor.id);
            }
            status.textContent = "";
            try {
              let credential, response;
              if (form.dataset.ceremony === "create") {
                options.user.id = bytes(options.user.id);
                credential = await navigator.credentials.create({ publicKey: options });
                response = { clientDataJSON: text(credential.response.clientDataJSON),
                             attestationObject: text(credential.response.attestationObject) };
              } else {
                credential = await navigator.credentials.get({ publicKey: options });
                const r = credential.response;
                response = { clientDataJSON: text(r.clientDataJSON), authenticatorData: text(r.authenticatorData),
                             signature: text(r.signature), userHandle: r.userHandle ? text(r.userHandle) : null };
              }
              form.elements.credential.value = JSON.stringify({ id: credential.id, rawId: text(credential.rawId), type: credential.type, response });
              form.submit();
            } catch (error) {
              status.textContent = form.dataset.failed;
            }
          });
        })();
        """
}
