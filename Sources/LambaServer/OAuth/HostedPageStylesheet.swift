/// The one stylesheet of every hosted page (docs/hosted-pages.md#the-stylesheet), inlined in a
/// `<style>` element: the pages' CSP allows inline styles (`style-src 'unsafe-inline'`) and no
/// script, so a page needs no second request and no cache to look right. Light and dark colours
/// follow `prefers-color-scheme` (Media Queries Level 5 §12.5); the layout is one fluid column
/// that fills a phone's width.
enum HostedPageStylesheet {
    /// The colours a Project's branding may change; everything else is fixed.
    struct Accent: Sendable {
        /// `#rrggbb`, validated before it gets here.
        var primary: String
        /// Black or white, whichever reads better on `primary`.
        var onPrimary: String

        static let lamba = Accent(primary: "#2756d8", onPrimary: "#ffffff")
    }

    static func css(_ accent: Accent = .lamba) -> String {
        """
        :root{color-scheme:light dark;--bg:#f4f5f7;--card:#ffffff;--text:#1d1d1f;--muted:#5b6069;--border:#c4c8cf;\
        --primary:\(accent.primary);--on-primary:\(accent.onPrimary);--link:#1f4fc9;--focus:#1f4fc9;\
        --error-bg:#fdecee;--error-text:#9b1020;--error-border:#f3b6bd;--notice-bg:#e7f4eb;--notice-text:#175c31;--notice-border:#a9d8b8}
        @media (prefers-color-scheme:dark){:root{--bg:#111317;--card:#1b1d22;--text:#e9eaec;--muted:#a6abb3;--border:#3d414a;\
        --link:#93b4ff;--focus:#93b4ff;--error-bg:#3b161b;--error-text:#ffb8bf;--error-border:#6e2a33;\
        --notice-bg:#12301d;--notice-text:#a6e3ba;--notice-border:#2b5e3d}}
        *,*::before,*::after{box-sizing:border-box}
        html{-webkit-text-size-adjust:100%;text-size-adjust:100%}
        body{margin:0;background:var(--bg);color:var(--text);font:1rem/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
        main{width:100%;max-width:28rem;margin:3rem auto;padding:2rem;background:var(--card);border:1px solid var(--border);border-radius:12px}
        .brand{display:flex;align-items:center;gap:.75rem;margin:0 0 1.25rem;font-weight:600}
        .brand img{max-height:2.5rem;max-width:10rem;object-fit:contain}
        h1{font-size:1.5rem;line-height:1.25;margin:0 0 .5rem}
        p{margin:.75rem 0}
        a{color:var(--link)}
        label{display:block;margin:1rem 0 .3rem;font-weight:600}
        input:not([type=hidden]){display:block;width:100%;font:inherit;padding:.65rem .75rem;color:var(--text);background:var(--card);\
        border:1px solid var(--border);border-radius:8px}
        button,.button{display:block;width:100%;margin:1rem 0 0;padding:.7rem 1rem;font:inherit;font-weight:600;text-align:center;\
        text-decoration:none;cursor:pointer;border-radius:8px;border:1px solid var(--primary);background:var(--primary);color:var(--on-primary)}
        button.secondary,.button.secondary{background:transparent;color:var(--text);border-color:var(--border)}
        button.link{display:inline;width:auto;margin:0;padding:0;border:0;background:none;color:var(--link);font-weight:400;text-decoration:underline}
        button:disabled{opacity:.55;cursor:not-allowed}
        :focus-visible{outline:3px solid var(--focus);outline-offset:2px}
        input:focus-visible{border-color:var(--focus)}
        .error,.notice{padding:.75rem 1rem;border-radius:8px;border:1px solid}
        .error{background:var(--error-bg);color:var(--error-text);border-color:var(--error-border)}
        .notice{background:var(--notice-bg);color:var(--notice-text);border-color:var(--notice-border)}
        .error:empty{display:none}
        .muted{color:var(--muted)}
        .account{display:flex;flex-wrap:wrap;gap:.25rem .5rem;align-items:baseline;color:var(--muted)}
        .account button.link{margin-left:.25rem}
        .actions{display:flex;gap:.75rem}
        .actions button{flex:1}
        .separator{text-align:center;color:var(--muted)}
        .developer{margin-top:1.5rem;font-size:.8rem;color:var(--muted);overflow-wrap:anywhere}
        code.secret{overflow-wrap:anywhere}
        .qr{margin:1rem 0}.qr svg{display:block;max-width:100%;height:auto;background:#fff;padding:.5rem;border-radius:8px}
        ul.codes{columns:2;padding-left:1.25rem}
        ul.passkeys{padding:0;list-style:none}ul.passkeys li{padding:.75rem 0;border-bottom:1px solid var(--border)}
        @media (max-width:32rem){main{margin:0;min-height:100vh;border:0;border-radius:0;padding:1.5rem 1.25rem}\
        .actions{flex-direction:column;gap:0}ul.codes{columns:1}}
        """
    }
}
