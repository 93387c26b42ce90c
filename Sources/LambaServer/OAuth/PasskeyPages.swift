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
        data-unsupported="This browser cannot use passkeys." data-failed="The passkey was not used. Try again, or use another way.">
        \(hidden("csrf_token", csrf))\(hidden("ceremony", ceremony.token))\(hidden("credential", ""))\(fields)
        <button type="button" class="\(buttonClass)" data-passkey>\(HTML.escape(button))</button>
        <p id="passkey-status" class="error" role="status"></p>
        </form>
        <script nonce="\(nonce)">\(passkeyScript)</script>
        """
    }

    /// "Sign in with a passkey" under the password form.
    static func passkeySignIn(_ ceremony: PasskeyCeremonies.Ceremony, action: String, authz: String, csrf: String, nonce: String) -> String {
        passkeyForm(ceremony, kind: "get", action: action, csrf: csrf, fields: hidden("authz", authz), button: "Sign in with a passkey",
                    buttonClass: "secondary", nonce: nonce)
    }

    /// Sign-up's second page where passkeys are the way in: the browser makes the new account's
    /// passkey, and posting it creates the account.
    static func passkeySignUp(_ ceremony: PasskeyCeremonies.Ceremony, email: String, projectName: String, action: String, authz: String,
                              csrf: String, nonce: String, otherEmailURL: String) -> String {
        layout("Create your passkey", """
            <h1>Create your passkey</h1>
            <p>Your \(HTML.escape(projectName)) account will be <strong>\(HTML.escape(email))</strong>. Your device keeps its passkey and \
            unlocks it with its screen lock: there is no password to remember.</p>
            \(passkeyForm(ceremony, kind: "create", action: action, csrf: csrf, fields: hidden("authz", authz), button: "Create a passkey",
                          buttonClass: "primary", nonce: nonce))
            <p><a href="\(HTML.escape(otherEmailURL))">Use another email</a></p>
            """)
    }

    /// The account page: the user's passkeys, "Add a passkey", and a remove button for each.
    static func passkeyAccount(_ page: HostedInteraction.PasskeyAccountPage, action: String, csrf: String, nonce: String,
                               notice: String?, error: String?) -> String {
        var body = """
            <h1>Your passkeys</h1>
            <p class="muted">Signed in as \(HTML.escape(page.user.email)) in \(HTML.escape(page.projectName))</p>
            \(notice.map { "<p class=\"notice\" role=\"status\">\(HTML.escape($0))</p>" } ?? "")
            \(message(error))
            """
        if page.passkeys.isEmpty {
            body += "<p>You have no passkey yet. A passkey signs you in with your device's screen lock, without a password.</p>"
        } else {
            body += "<ul class=\"passkeys\">" + page.passkeys.map { passkey in
                """
                <li><strong>\(HTML.escape(passkey.name))</strong> \
                <span class="muted">added \(HTML.escape(String(passkey.createdAt.formatted(.iso8601).prefix(10))))\
                \(passkey.lastUsedAt.map { ", last used " + HTML.escape(String($0.formatted(.iso8601).prefix(10))) } ?? "")\
                \(passkey.backupEligible ? ", synced" : ", this device only")</span>
                <form method="post" action="\(HTML.escape(action))">\(hidden("csrf_token", csrf))\(hidden("action", "remove"))\
                \(hidden("passkey_id", passkey.id))<button type="submit" class="secondary">Remove</button></form></li>
                """
            }.joined() + "</ul>"
        }
        if !page.enabled {
            body += "<p class=\"muted\">Passkey sign-in is not turned on for \(HTML.escape(page.projectName)).</p>"
        } else if let registration = page.registration {
            body += passkeyForm(registration, kind: "create", action: action, csrf: csrf, fields: """
                \(hidden("action", "add"))<label for="name">Name of the new passkey (optional)</label>\
                <input id="name" name="name" maxlength="\(PasskeyCeremonies.maximumNameLength)" placeholder="My laptop">
                """, button: "Add a passkey", buttonClass: "primary", nonce: nonce)
        } else {
            body += "<p class=\"muted\">To add or remove a passkey, sign in again: your last sign-in was more than 10 minutes ago.</p>"
        }
        return layout("Your passkeys", body)
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
