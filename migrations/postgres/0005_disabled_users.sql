-- An account can be disabled (its sessions end and it cannot sign in) without deleting it, so
-- that its name stays on the edits it made.
ALTER TABLE gridmap_users ADD COLUMN disabled_at timestamptz;
CREATE INDEX gridmap_sessions_expiry ON gridmap_sessions (expires_at);
