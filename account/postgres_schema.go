package account

// postgresMigrations are the PostgreSQL store's schema versions:
// postgresMigrations[i] takes a database from version i to i+1. They run
// in one transaction, under an advisory lock, so that replicas starting
// at once apply each exactly once (see migratePostgres).
//
// The schema is SQLite's (sqliteSchema) in PostgreSQL's words, with these
// differences: times are Unix nanoseconds in BIGINT columns, as there
// (timestamptz keeps microseconds, and Forgive matches a lock's exact
// time); flags are BOOLEAN; keys and IDs that are ordered or compared as
// ranges are COLLATE "C", so that they sort by bytes whatever the
// database's locale; usage is kept by PL/pgSQL triggers.
var postgresMigrations = []string{`
CREATE TABLE accounts (
	id            TEXT COLLATE "C" PRIMARY KEY,
	email         TEXT UNIQUE,
	phone         TEXT UNIQUE,
	region        TEXT COLLATE "C" NOT NULL,
	birth_date    DATE NOT NULL,
	password_hash TEXT NOT NULL,
	created_ns    BIGINT NOT NULL
);
CREATE INDEX accounts_phone_region ON accounts (region) WHERE phone IS NOT NULL;
CREATE TABLE codes (
	id         TEXT PRIMARY KEY,
	purpose    TEXT NOT NULL,
	address    TEXT NOT NULL,
	account_id TEXT NOT NULL,
	hash       TEXT NOT NULL,
	expires_ns BIGINT NOT NULL,
	tries      INTEGER NOT NULL,
	verified   BOOLEAN NOT NULL,
	sent_ns    BIGINT NOT NULL,
	data       TEXT NOT NULL,
	kind       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX codes_expires ON codes (expires_ns);
CREATE TABLE budgets (
	key       TEXT PRIMARY KEY,
	spent     INTEGER NOT NULL,
	resets_ns BIGINT NOT NULL,
	refused   BOOLEAN NOT NULL DEFAULT false
);
CREATE INDEX budgets_resets ON budgets (resets_ns);
CREATE TABLE devices (
	id            TEXT PRIMARY KEY,
	account_id    TEXT NOT NULL,
	name          TEXT NOT NULL,
	client_id     TEXT NOT NULL,
	refresh_hash  TEXT NOT NULL,
	previous_hash TEXT NOT NULL,
	refresh_ns    BIGINT NOT NULL,
	created_ns    BIGINT NOT NULL,
	last_seen_ns  BIGINT NOT NULL,
	revoked       BOOLEAN NOT NULL,
	rotated_ns    BIGINT NOT NULL DEFAULT 0,
	grace_pair    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX devices_account ON devices (account_id);
CREATE INDEX devices_refresh ON devices (refresh_hash);
CREATE INDEX devices_previous ON devices (previous_hash);
CREATE UNIQUE INDEX devices_connected_name ON devices (account_id, name) WHERE NOT revoked;
CREATE TABLE device_auths (
	code_hash    TEXT COLLATE "C" PRIMARY KEY,
	user_code    TEXT NOT NULL UNIQUE,
	client_id    TEXT NOT NULL,
	device_name  TEXT COLLATE "C" NOT NULL,
	account_id   TEXT NOT NULL,
	status       TEXT NOT NULL,
	expires_ns   BIGINT NOT NULL,
	interval_ns  BIGINT NOT NULL,
	last_poll_ns BIGINT NOT NULL
);
CREATE INDEX device_auths_expires ON device_auths (expires_ns);
CREATE INDEX device_auths_approved ON device_auths (account_id) WHERE status = 'approved';
CREATE TABLE throttles (
	key        TEXT PRIMARY KEY,
	failures   INTEGER NOT NULL,
	locked_ns  BIGINT NOT NULL,
	updated_ns BIGINT NOT NULL,
	expires_ns BIGINT NOT NULL DEFAULT 0,
	refused    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX throttles_expires ON throttles (expires_ns);
CREATE TABLE sessions (hash TEXT PRIMARY KEY, account_id TEXT NOT NULL, expires_ns BIGINT NOT NULL);
CREATE INDEX sessions_expires ON sessions (expires_ns);

CREATE TABLE objects (
	account_id TEXT COLLATE "C" NOT NULL,
	key        TEXT COLLATE "C" NOT NULL,
	size       BIGINT NOT NULL,
	etag       TEXT NOT NULL,
	sha256     TEXT NOT NULL,
	mtime      TEXT NOT NULL,
	device     TEXT NOT NULL,
	updated_ns BIGINT NOT NULL,
	PRIMARY KEY (account_id, key)
);
CREATE TABLE usage (
	account_id TEXT COLLATE "C" PRIMARY KEY,
	used       BIGINT NOT NULL,
	objects    BIGINT NOT NULL
);
CREATE TABLE quotas (account_id TEXT PRIMARY KEY, quota BIGINT NOT NULL);
CREATE TABLE reservations (
	account_id TEXT NOT NULL,
	id         TEXT COLLATE "C" NOT NULL,
	key        TEXT NOT NULL,
	size       BIGINT NOT NULL,
	expires_ns BIGINT NOT NULL,
	signed     TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (account_id, id)
);
CREATE INDEX reservations_expires ON reservations (expires_ns);
CREATE TABLE upload_parts (
	account_id TEXT NOT NULL,
	upload_id  TEXT NOT NULL,
	part       INTEGER NOT NULL,
	size       BIGINT NOT NULL,
	PRIMARY KEY (account_id, upload_id, part)
);

CREATE FUNCTION objects_usage() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'INSERT' THEN
		INSERT INTO usage (account_id, used, objects) VALUES (NEW.account_id, NEW.size, 1)
		ON CONFLICT (account_id) DO UPDATE SET used = usage.used + excluded.used, objects = usage.objects + 1;
	ELSIF TG_OP = 'UPDATE' THEN
		UPDATE usage SET used = used - OLD.size + NEW.size WHERE account_id = NEW.account_id;
	ELSE
		UPDATE usage SET used = used - OLD.size, objects = objects - 1 WHERE account_id = OLD.account_id;
	END IF;
	RETURN NULL;
END $$;
CREATE TRIGGER objects_insert AFTER INSERT ON objects FOR EACH ROW EXECUTE FUNCTION objects_usage();
CREATE TRIGGER objects_update AFTER UPDATE OF size ON objects FOR EACH ROW EXECUTE FUNCTION objects_usage();
CREATE TRIGGER objects_delete AFTER DELETE ON objects FOR EACH ROW EXECUTE FUNCTION objects_usage();

CREATE FUNCTION reservations_parts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	DELETE FROM upload_parts WHERE account_id = OLD.account_id AND upload_id = substr(OLD.id, 8);
	RETURN NULL;
END $$;
CREATE TRIGGER reservations_parts AFTER DELETE ON reservations FOR EACH ROW
	WHEN (OLD.id LIKE 'upload:%') EXECUTE FUNCTION reservations_parts();
`, postgresSigningKeysSchema, postgresRetireReplicasSchema, postgresObjectCaptureSchema,
	objectKindSchema, postgresMTimeOrderSchema}
