import ArgumentParser
import LambaPostgres
import LambaServer
import LambaStore

struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Apply pending database migrations (the server also applies them at start)."
    )

    @Option(help: "sqlite:///path (its directory must exist) or postgres://… (default: $LAMBA_DATABASE_URL, else sqlite:./data/lamba.sqlite).")
    var database: String?

    @Flag(help: "Only print the schema version of the database and of this binary.")
    var status = false

    func run() async throws {
        let url: DatabaseURL
        do {
            url = try ServerConfiguration.databaseURL(flag: database)
        } catch {
            throw ValidationError("invalid configuration: \(error)")
        }
        let store = try await StoreFactory.open(url, poolSize: 1)
        do {
            let migrator = Migrator()
            if status {
                let current = try await migrator.currentVersion(store)
                print("\(url): schema version \(current), this binary knows up to \(migrator.latestVersion)")
            } else {
                let applied = try await migrator.migrate(store)
                for migration in applied { print("applied \(migration.version) \(migration.name)") }
                print("\(url): schema at version \(migrator.latestVersion)" + (applied.isEmpty ? " (nothing to apply)" : ""))
            }
        } catch {
            await store.close()
            throw error
        }
        await store.close()
    }
}
