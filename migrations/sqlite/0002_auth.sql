-- Who may edit: bearer tokens, planner accounts and their browser sessions. Tokens and session
-- ids are stored only as SHA-256 hex digests, passwords only as argon2 PHC strings.

CREATE TABLE gridmap_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    name TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL CHECK (role IN ('viewer', 'planner', 'admin')),
    hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);

CREATE TABLE gridmap_users (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    name TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL CHECK (role IN ('viewer', 'planner', 'admin')),
    password_hash TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE gridmap_sessions (
    hash TEXT PRIMARY KEY NOT NULL,
    user_id INTEGER NOT NULL REFERENCES gridmap_users (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
