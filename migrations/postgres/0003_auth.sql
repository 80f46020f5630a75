-- Who may edit: bearer tokens, planner accounts and their browser sessions. Tokens and session
-- ids are stored only as SHA-256 hex digests, passwords only as argon2 PHC strings.

CREATE TABLE gridmap_tokens (
    id bigserial PRIMARY KEY,
    name text NOT NULL UNIQUE,
    role text NOT NULL CHECK (role IN ('viewer', 'planner', 'admin')),
    hash text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL,
    revoked_at timestamptz
);

CREATE TABLE gridmap_users (
    id bigserial PRIMARY KEY,
    name text NOT NULL UNIQUE,
    role text NOT NULL CHECK (role IN ('viewer', 'planner', 'admin')),
    password_hash text NOT NULL,
    created_at timestamptz NOT NULL
);

CREATE TABLE gridmap_sessions (
    hash text PRIMARY KEY,
    user_id bigint NOT NULL REFERENCES gridmap_users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
);
