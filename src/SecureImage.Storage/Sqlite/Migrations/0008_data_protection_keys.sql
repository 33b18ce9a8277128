-- 0008: the ASP.NET Core data-protection key ring (anti-forgery tokens, OIDC state/nonce/correlation cookies), kept in
-- the catalog so every instance uses the same keys and they survive restarts. One row per element the library
-- stores: a <key> (its secret already envelope-encrypted under the KEK before it gets here) or a <revocation>.
-- Rows are only added, never changed; id gives the order they were written in.
-- (PostgreSQL numbers the same table 0008.)
CREATE TABLE data_protection_keys (
    id            INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    friendly_name TEXT    NOT NULL,
    xml           TEXT    NOT NULL
);
