/// Event attribution (versions 90–99): what kind of actor an event names, the console session a
/// person acted through, and who created the API key that acted (docs/events.md#attribution).
/// Earlier events keep NULL here: their actor id alone says what they knew.
enum EventAttributionSchema {
    static let migration = Migration(version: 90, name: "event attribution", sql: """
        ALTER TABLE events ADD COLUMN actor_type TEXT CHECK (actor_type IN ('user', 'api_key', 'system'));
        ALTER TABLE events ADD COLUMN console_session_id TEXT;
        ALTER TABLE events ADD COLUMN actor_created_by TEXT;
        CREATE INDEX events_console_session ON events (console_session_id) WHERE console_session_id IS NOT NULL;
        """)
}
