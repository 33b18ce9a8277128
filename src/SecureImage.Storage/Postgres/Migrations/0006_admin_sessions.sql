-- 0006: dashboard sessions kept on the server (IAdminSessionStore), so signing out ends a session on every
-- instance and a copied cookie stops working. token_hash is the SHA-256 of the cookie's random token (the token
-- itself is never stored).
CREATE TABLE admin_sessions (
    token_hash          bytea       NOT NULL PRIMARY KEY,
    admin_id            text        NOT NULL,
    display_name        text        NOT NULL,
    role                text        NOT NULL,
    stamp               text        NOT NULL,
    created_at          timestamptz NOT NULL,
    last_seen_at        timestamptz NOT NULL,
    absolute_expires_at timestamptz NOT NULL,
    revoked_at          timestamptz NULL
);
CREATE INDEX ix_admin_sessions_expiry ON admin_sessions (absolute_expires_at);
