/// A Project's branding (docs/hosted-pages.md#branding): one JSON document on its row, null when
/// the Project keeps Lamba's own look.
enum ProjectBrandingSchema {
    static let migration = Migration(version: 105, name: "project branding", sql: """
        ALTER TABLE projects ADD COLUMN branding TEXT;
        """)
}
