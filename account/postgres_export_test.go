package account

// PostgresSchemaVersion is the schema version this build's PostgreSQL
// migrations bring a database to.
var PostgresSchemaVersion = len(postgresMigrations)
