internal import Hummingbird

internal import HTTPTypes
internal import Synchronization

/// Which methods each registered path answers, so that a known path asked with another method gets
/// 405 with `Allow` instead of 404. Hummingbird's router answers 404 for both; this mirrors its
/// routes into a second trie (same matching rules) after every feature has registered.
final class AllowedMethodsIndex: Sendable {
    private let responder = Mutex<RouterResponder<LambaRequestContext>?>(nil)

    func build(from router: Router<LambaRequestContext>) {
        var methodsByPath: [String: (path: RouterPath, methods: [HTTPRequest.Method])] = [:]
        for route in router.routes {
            methodsByPath[route.path.description, default: (route.path, [])].methods.append(route.method)
        }
        let index = Router(context: LambaRequestContext.self)
        for (path, methods) in methodsByPath.values {
            let allow = methods.map(\.rawValue).joined(separator: ", ")
            index.on(path, method: .get, responder: CallbackResponder<LambaRequestContext> { _, _ in
                Response(status: .ok, headers: [.allow: allow])
            })
        }
        let built = index.buildResponder()
        responder.withLock { $0 = built }
    }

    /// The methods `request`'s path answers, or nil when no route has that path.
    func methods(for request: Request, context: LambaRequestContext) async -> [HTTPRequest.Method]? {
        guard let responder = responder.withLock({ $0 }) else { return nil }
        var head = request.head
        head.method = .get
        guard let response = try? await responder.respond(to: Request(head: head, body: .init(buffer: ByteBuffer())), context: context),
              response.status == .ok, let allow = response.headers[.allow]
        else { return nil }
        return allow.split(separator: ",").compactMap { HTTPRequest.Method(String($0.filter { $0 != " " })) }
    }
}
