-- 0005: dashboard sessions kept on the server (IAdminSessionStore), so signing out ends a session on every
-- instance and a copied cookie stops working. token_hash is the SHA-256 of the cookie's random token (the token
-- itself is never stored).
-- (PostgreSQL numbers the same table 0006: its 0005 dropped Quartz tables SQLite never had.)
CREATE TABLE admin_sessions (
    token_hash          BLOB    NOT NULL PRIMARY KEY,
    admin_id            TEXT    NOT NULL,
    display_name        TEXT    NOT NULL,
    role                TEXT    NOT NULL,
    stamp               TEXT    NOT NULL,
    created_at          INTEGER NOT NULL,
    last_seen_at        INTEGER NOT NULL,
    absolute_expires_at INTEGER NOT NULL,
    revoked_at          INTEGER NULL
);
CREATE INDEX ix_admin_sessions_expiry ON admin_sessions (absolute_expires_at);
