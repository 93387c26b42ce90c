import Foundation
public import HTTPTypes
public import Hummingbird
public import LambaJOSE
public import LambaModel
public import LambaStore
public import LambaOAuth

/// One operation of the console API. The router and the OpenAPI document are both built from the
/// same table of these, so the document cannot drift from what the server answers.
public struct ConsoleRoute: Sendable {
    /// Who may call an operation. Every case but `anonymous` and `signedIn` needs a caller in a
    /// Workspace: a Team Member's console session (in the Workspace it selects) or a Workspace API key.
    public enum Access: Sendable {
        /// No credentials (the OpenAPI document, invite acceptance).
        case anonymous
        /// A console session of any signed-in Lamba User, whether or not a Team Member anywhere
        /// (the session itself, the Workspaces one belongs to, creating a Workspace).
        case signedIn
        /// `capability` across the caller's Workspace (its Workspace role).
        case workspace(ConsoleCapability)
        /// `capability` inside the Project named by `{project_id}`: the Workspace role's, or that
        /// Project's console role's.
        case project(ConsoleCapability)
        /// `capability` in at least one Project; the answer holds only what the caller's roles show.
        case anyProject(ConsoleCapability)
        /// Field by field: any of these lets the request in, and the service checks each field's own.
        case anyOf([ConsoleCapability])

        /// Whether the operation needs a caller in a Workspace.
        public var needsWorkspaceCaller: Bool {
            switch self {
            case .anonymous, .signedIn: false
            case .workspace, .project, .anyProject, .anyOf: true
            }
        }
    }

    public let method: HTTPRequest.Method
    /// OpenAPI path template, `{name}` for parameters.
    public let path: String
    public let operationID: String
    public let summary: String
    public let access: Access
    public let request: ConsoleSchema?
    /// Whether a body may be left out (then it reads as `{}`); bodies are JSON when sent.
    public let requestOptional: Bool
    /// Query parameters, all optional; their values are checked against these schemas.
    public let query: [(String, ConsoleSchema)]
    public let status: HTTPResponse.Status
    public let response: ConsoleSchema?
    let handler: @Sendable (ConsoleCall) async throws -> JSONValue?

    init(_ method: HTTPRequest.Method, _ path: String, _ operationID: String, _ summary: String, access: Access,
         request: ConsoleSchema? = nil, requestOptional: Bool = false, query: [(String, ConsoleSchema)] = [],
         status: HTTPResponse.Status = .ok, response: ConsoleSchema?,
         handler: @escaping @Sendable (ConsoleCall) async throws -> JSONValue?) {
        self.method = method
        self.path = path
        self.operationID = operationID
        self.summary = summary
        self.access = access
        self.request = request
        self.requestOptional = requestOptional
        self.query = query
        self.status = status
        self.response = response
        self.handler = handler
    }

    /// Path parameter names, in order.
    public var parameters: [String] {
        path.split(separator: "/").compactMap { $0.hasPrefix("{") ? String($0.dropFirst().dropLast()) : nil }
    }
}

/// What a console handler works with: the caller, the path parameters and the checked body.
struct ConsoleCall: Sendable {
    let services: ConsoleServices
    let callerOrNil: ConsoleCaller?
    /// The signed-in person, on `.signedIn` operations.
    let personOrNil: ConsoleAccessAdministration.SignedIn?
    let authentication: ConsoleAuthentication
    let parameters: [String: String]
    /// The query, its declared parameters checked already.
    let query: FormParameters
    let body: JSONObject

    var caller: ConsoleCaller {
        get throws {
            guard let callerOrNil else { throw ConsoleAuthentication.unauthorized("no caller") }
            return callerOrNil
        }
    }

    var person: ConsoleAccessAdministration.SignedIn {
        get throws {
            guard let personOrNil else { throw ConsoleAuthentication.unauthorized("no console session") }
            return personOrNil
        }
    }

    /// A path parameter naming an entity: an id of another shape is simply not found.
    func id(_ name: String, _ kind: EntityKind) throws -> String {
        guard let value = parameters[name], EntityID.isWellFormed(value, kind) else { throw APIError.notFound }
        return value
    }

    func parameter(_ name: String) throws -> String {
        guard let value = parameters[name] else { throw APIError.notFound }
        return value
    }

    var environment: LambaModel.Environment {
        get throws {
            guard let value = parameters["environment"], let environment = LambaModel.Environment(rawValue: value) else { throw APIError.notFound }
            return environment
        }
    }

    func string(_ name: String) -> String? { body[name]?.stringValue }
    func bool(_ name: String) -> Bool? { body[name]?.boolValue }
    func int(_ name: String) throws -> Int? {
        guard let value = body[name].flatMap(ConsoleSchema.integer(of:)) else { return nil }
        guard let int = Int(exactly: value) else { throw APIError.invalidRequest("\(name) is out of range", field: name) }
        return int
    }
    func strings(_ name: String) -> [String]? { body[name]?.arrayValue?.compactMap(\.stringValue) }

    /// A Project id → Project console role map.
    func consoleRoles(_ name: String) throws -> [String: ProjectConsoleRole]? {
        guard let object = body[name]?.objectValue else { return nil }
        var roles: [String: ProjectConsoleRole] = [:]
        for (projectID, value) in object {
            guard let role = value.stringValue.flatMap(ProjectConsoleRole.init(rawValue:)) else {
                throw APIError.invalidRequest("\(name) values must be admin, developer or viewer", field: name)
            }
            guard EntityID.isWellFormed(projectID, .project) else { throw DomainError.notFound("project \(projectID)") }
            roles[projectID] = role
        }
        return roles
    }
}

/// The domain services the console calls, over the server's store.
struct ConsoleServices: Sendable {
    let store: any Store
    let masterKey: MasterKey
    let workspaces: WorkspaceAdministration
    /// People signed in to the console, their Workspaces and the installation.
    let people: ConsoleAccessAdministration
    let projects: ProjectAdministration
    let members: MemberLifecycle
    let providers: UpstreamProviderAdministration
    let domains: CustomDomainAdministration
    /// Proves a social provider's issuer over HTTP before it is saved.
    let issuerCheck: UpstreamProviderAdministration.IssuerCheck
    let webhooks: WebhookAdministration
    /// How often a waiting event stream request looks at the outbox again.
    let streamPollInterval: Duration

    init(store: any Store, masterKey: MasterKey, upstreamHTTP: any UpstreamHTTPClient, publicBaseURL: String?,
         streamPollInterval: Duration = .milliseconds(200)) {
        // Writes through it report a unique violation as `DomainError.conflict`.
        let identity = DomainIdentityStore(store: store)
        self.store = store
        self.masterKey = masterKey
        workspaces = WorkspaceAdministration(store: identity)
        people = ConsoleAccessAdministration(store: identity)
        projects = ProjectAdministration(store: identity)
        var members = MemberLifecycle(store: identity)
        if let publicBaseURL {
            // Invites go out by email, linking to the hosted acceptance page.
            members.inviteMail = { invite, token, workspace, project in
                AccountMail.invite(invite, link: publicBaseURL + "/console/invites/accept?token=" + token, workspace: workspace, project: project,
                                   at: Date())
            }
        }
        self.members = members
        providers = UpstreamProviderAdministration(store: identity, masterKey: masterKey)
        domains = CustomDomainAdministration(store: identity, fetcher: HTTPDomainProofFetcher(http: upstreamHTTP))
        issuerCheck = ServerUpstreamHTTPClient.issuerCheck(upstreamHTTP)
        webhooks = WebhookAdministration(store: store, masterKey: masterKey)
        self.streamPollInterval = streamPollInterval
    }
}

/// The console REST API under `/console/v1`, registered as one feature; the events surface
/// (`EventsRoutes`) registers its part of the same table.
public struct ConsoleRoutes: RouteGroup {
    public static let prefix = "/console/v1"
    let registrar: ConsoleRouteRegistrar

    /// With `publicBaseURL`, invites are also sent by email.
    public init(store: any Store, masterKey: MasterKey, upstreamHTTP: any UpstreamHTTPClient = ServerUpstreamHTTPClient(), publicBaseURL: String? = nil) {
        registrar = ConsoleRouteRegistrar(services: ConsoleServices(store: store, masterKey: masterKey, upstreamHTTP: upstreamHTTP,
                                                                    publicBaseURL: publicBaseURL))
    }

    /// Every console operation, the OpenAPI document's and the events surface's included.
    public static var table: [ConsoleRoute] { operations + EventsRoutes.routes }

    /// The operations this group registers.
    static var operations: [ConsoleRoute] {
        [OpenAPIDocument.route] + WorkspaceRoutes.routes + APIKeyRoutes.routes + ProjectRoutes.routes + EnvironmentRoutes.routes
            + ClientRoutes.routes + ProviderRoutes.routes + RoleRoutes.routes + ProjectMemberRoutes.routes + TeamRoutes.routes + InviteRoutes.routes
            + ConsoleSessionRoutes.routes + MailLogRoutes.routes
    }

    public func register(on router: Router<LambaRequestContext>) {
        registrar.register(Self.operations, on: router)
    }
}

/// Registers entries of the console route table and runs them: authenticate, check the query and
/// the body against the declared schemas, call the handler, render its answer.
struct ConsoleRouteRegistrar: Sendable {
    let services: ConsoleServices
    let authentication: ConsoleAuthentication

    init(services: ConsoleServices) {
        self.services = services
        authentication = ConsoleAuthentication(workspaces: services.workspaces, people: services.people, masterKey: services.masterKey)
    }

    func register(_ routes: [ConsoleRoute], on router: Router<LambaRequestContext>) {
        for route in routes {
            // Hummingbird names parameters `:name`; the document uses `{name}`.
            let path = route.path.split(separator: "/").map { $0.hasPrefix("{") ? ":" + $0.dropFirst().dropLast() : String($0) }.joined(separator: "/")
            router.on(RouterPath("/" + path), method: route.method) { request, context -> Response in
                try await handle(route, request, context)
            }
        }
    }

    private func handle(_ route: ConsoleRoute, _ request: Request, _ context: LambaRequestContext) async throws -> Response {
        var caller: ConsoleCaller?
        var person: ConsoleAccessAdministration.SignedIn?
        if route.access.needsWorkspaceCaller {
            caller = try await authentication.caller(of: request)
        } else if case .signedIn = route.access {
            person = try await authentication.signedIn(request)
        }
        var parameters: [String: String] = [:]
        for name in route.parameters { parameters[name] = context.parameters.get(name) }
        if let caller { try await authorize(route.access, caller, projectID: parameters["project_id"]) }
        let query = try Self.checkedQuery(route, request)
        var body = JSONObject()
        if let schema = route.request {
            let sent = request.headers[.contentType] != nil || request.headers[.contentLength].map { $0 != "0" } ?? false
            if sent || !route.requestOptional {
                body = try await request.readJSONObject(context: context, maxDepth: 8)
            }
            try schema.check(.object(body), field: "")
        }
        let call = ConsoleCall(services: services, callerOrNil: caller, personOrNil: person, authentication: authentication, parameters: parameters,
                               query: query, body: body)
        // Store failures arrive translated (a unique violation is `DomainError.conflict`, mapped at the
        // store boundary by `DomainIdentityStore` and `withDomainTransaction`); they render through
        // the one DomainError table (`DomainErrorRendering.swift`).
        guard let output = try await route.handler(call) else { return Response(status: .noContent) }
        if case .object(let object) = output { return .json(object, status: route.status) }
        return .json(["data": output], status: route.status)
    }

    /// The route's declared access, decided before its input is read: a caller without the capability
    /// is refused (403) whatever the body says. The services check again, as defence in depth.
    func authorize(_ access: ConsoleRoute.Access, _ caller: ConsoleCaller, projectID: String?) async throws {
        switch access {
        case .anonymous, .signedIn:
            return
        case .workspace(let capability):
            try caller.require(capability)
        case .anyOf(let capabilities):
            let held = caller.capabilities(inProject: nil)
            guard capabilities.contains(where: { held.contains($0) }) else {
                throw DomainError.forbidden("the caller's roles grant none of \(capabilities.map(\.rawValue).joined(separator: ", "))")
            }
        case .anyProject(let capability):
            guard Self.holdsSomewhere(capability, caller) else {
                throw DomainError.forbidden("the caller's roles do not grant \(capability.rawValue) in any Project")
            }
        case .project(let capability):
            try await authorize(capability, caller, inProject: projectID)
        }
    }

    /// A `{project_id}` route. The 403 never depends on another Workspace's data
    /// (docs/access-model.md#tenant-isolation): a caller whose roles grant the capability nowhere is
    /// refused for any id; anyone else first learns whether the Project is one they can see, and a
    /// Project they cannot see (another Workspace's, or one a Project console role does not reach)
    /// answers 404 exactly as a missing id does.
    private func authorize(_ capability: ConsoleCapability, _ caller: ConsoleCaller, inProject projectID: String?) async throws {
        guard Self.holdsSomewhere(capability, caller) else { try caller.require(capability); return }
        guard let projectID, EntityID.isWellFormed(projectID, .project), caller.canSee(projectID: projectID)
                || caller.capabilities(inProject: projectID).contains(capability)
        else { throw DomainError.notFound("project") }
        let workspaceID = caller.workspaceID
        let exists = try await services.store.read { r in
            try SQLIdentityRecords(reader: r, transaction: nil).project(id: projectID, workspaceID: workspaceID) != nil
        }
        guard exists else { throw DomainError.notFound("project \(projectID)") }
        try caller.require(capability, inProject: projectID)
    }

    /// Whether the Workspace role or any of the caller's Project console roles grants `capability`.
    static func holdsSomewhere(_ capability: ConsoleCapability, _ caller: ConsoleCaller) -> Bool {
        caller.capabilities(inProject: nil).contains(capability)
            || caller.projectConsoleRoles.values.contains { $0.capabilities.contains(capability) }
    }

    /// The query without duplicates, each declared parameter's value checked against its schema
    /// (integers parsed as such); undeclared parameters are ignored.
    static func checkedQuery(_ route: ConsoleRoute, _ request: Request) throws -> FormParameters {
        let query = try request.queryParameters()
        try query.rejectDuplicates()
        for (name, schema) in route.query {
            guard let text = query[name] else { continue }
            let value: JSONValue
            switch schema {
            case .integer:
                guard let number = Int64(text) else { throw APIError.invalidRequest("\(name) must be an integer", field: name) }
                value = .integer(number)
            default:
                value = .string(text)
            }
            try schema.check(value, field: name)
        }
        return query
    }
}
