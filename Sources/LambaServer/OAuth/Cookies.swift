import Hummingbird
import LambaModel
import LambaOAuth

/// Cookies: the global session per Workspace (`lamba_session_{workspace id}`) and the CSRF cookie.
enum Cookies {
    static func read(_ request: Request, _ name: String) -> String? {
        CookieHeader.value(of: name, in: request.headers[values: .cookie])
    }

    static func sessionName(_ context: ProviderContext) -> String { "lamba_session_" + context.workspace.id }

    /// `HttpOnly; SameSite=Lax; Path=/`, `Secure` when the public URL is https.
    static func set(_ name: String, _ value: String, secure: Bool, maxAge: Int? = nil) -> String {
        var cookie = "\(name)=\(value); Path=/; HttpOnly; SameSite=Lax"
        if secure { cookie += "; Secure" }
        if let maxAge { cookie += "; Max-Age=\(maxAge)" }
        return cookie
    }
}
