-- 0001: consents, images and the append-only audit log.
-- Times are Unix milliseconds (UTC); ids are lower-case GUID text.
CREATE TABLE consents (
    id             TEXT    NOT NULL PRIMARY KEY,
    bot_id         TEXT    NOT NULL,
    subject_hash   TEXT    NOT NULL,
    purpose        TEXT    NOT NULL,
    policy_version TEXT    NOT NULL,
    source         TEXT    NOT NULL CHECK (source IN ('api', 'kakao-plugin')),
    granted_at     INTEGER NOT NULL,
    withdrawn_at   INTEGER NULL
);
CREATE INDEX ix_consents_bot ON consents (bot_id);

CREATE TABLE images (
    id                   TEXT    NOT NULL PRIMARY KEY,
    bot_id               TEXT    NOT NULL,
    subject_hash         TEXT    NOT NULL,
    consent_id           TEXT    NOT NULL REFERENCES consents (id),
    content_type         TEXT    NOT NULL,
    bytes                INTEGER NOT NULL,
    width                INTEGER NOT NULL,
    height               INTEGER NOT NULL,
    blob_name            TEXT    NOT NULL UNIQUE,
    key_id               TEXT    NULL,
    wrapped_key          BLOB    NULL,
    created_at           INTEGER NOT NULL,
    expires_at           INTEGER NOT NULL,
    state                TEXT    NOT NULL CHECK (state IN ('active', 'erased', 'held', 'blocked')),
    erased_at            INTEGER NULL,
    erase_reason         TEXT    NULL,
    pending_erase_reason TEXT    NULL,
    CHECK ((state = 'erased') = (wrapped_key IS NULL))
);
CREATE INDEX ix_images_consent ON images (consent_id);
CREATE INDEX ix_images_bot_created ON images (bot_id, created_at);
-- The retention sweep reads only rows not yet erased, oldest expiry first.
CREATE INDEX ix_images_expiry_unerased ON images (expires_at) WHERE state <> 'erased';

CREATE TABLE audit_events (
    seq        INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    at         INTEGER NOT NULL,
    kind       TEXT    NOT NULL,
    bot_id     TEXT    NULL,
    image_id   TEXT    NULL,
    consent_id TEXT    NULL,
    actor      TEXT    NOT NULL,
    reason     TEXT    NULL
);
CREATE INDEX ix_audit_at ON audit_events (at);
CREATE INDEX ix_audit_image ON audit_events (image_id) WHERE image_id IS NOT NULL;
CREATE INDEX ix_audit_consent ON audit_events (consent_id) WHERE consent_id IS NOT NULL;

CREATE TRIGGER audit_events_append_only_update BEFORE UPDATE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit events are append-only');
END;
CREATE TRIGGER audit_events_append_only_delete BEFORE DELETE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit events are append-only');
END;
