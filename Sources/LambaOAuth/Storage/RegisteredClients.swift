public import LambaModel

/// The clients registered in Project environments, read through a cache that holds while the
/// clients' records do not change. A client of another Project environment is unknown here:
/// sandbox and production never share clients (docs/access-model.md#environment-isolation).
struct RegisteredClients: Sendable {
    let records: Transactions<any ClientReader>
    let cache: TableCache<String, OAuthClient>

    func client(id: String, in context: ProviderContext) async throws(OAuthError) -> OAuthClient? {
        guard id.utf8.count <= 128 else { return nil }
        let records = records
        let client = try await cache.value(id) { () throws(OAuthError) -> OAuthClient? in
            try await records.read { tx in try tx.client(id: id) }
        }
        guard let client, context.owns(client) else { return nil }
        return client
    }

    /// The same lookup inside the caller's transaction.
    static func client(_ tx: any ClientReader, id: String, in context: ProviderContext) throws -> OAuthClient? {
        guard id.utf8.count <= 128, let client = try tx.client(id: id), context.owns(client) else { return nil }
        return client
    }
}
