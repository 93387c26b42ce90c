/// The two environments of every Project. Each is a separate OpenID Provider: its own issuer, keys,
/// clients, redirect URIs and webhook endpoints. Nothing is shared between them.
public enum Environment: String, Sendable, Codable, CaseIterable, Hashable {
    case sandbox
    case production
}

/// A Workspace's status, and a Project's: deactivation stops every sign-in and token use inside it.
public enum LifecycleStatus: String, Sendable, Codable, Hashable {
    case active
    case deactivated
}
