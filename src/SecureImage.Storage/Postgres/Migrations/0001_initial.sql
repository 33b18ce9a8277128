-- 0001: consents, images and the append-only audit log (same meaning as Sqlite/Migrations/0001_initial.sql).
-- Times are timestamptz (UTC); ids are uuid.
CREATE TABLE consents (
    id             uuid        NOT NULL PRIMARY KEY,
    bot_id         text        NOT NULL,
    subject_hash   text        NOT NULL,
    purpose        text        NOT NULL,
    policy_version text        NOT NULL,
    source         text        NOT NULL CHECK (source IN ('api', 'kakao-plugin')),
    granted_at     timestamptz NOT NULL,
    withdrawn_at   timestamptz NULL
);
CREATE INDEX ix_consents_bot ON consents (bot_id);

CREATE TABLE images (
    id                   uuid        NOT NULL PRIMARY KEY,
    bot_id               text        NOT NULL,
    subject_hash         text        NOT NULL,
    consent_id           uuid        NOT NULL REFERENCES consents (id),
    content_type         text        NOT NULL,
    bytes                bigint      NOT NULL,
    width                integer     NOT NULL,
    height               integer     NOT NULL,
    blob_name            text        NOT NULL UNIQUE,
    key_id               text        NULL,
    wrapped_key          bytea       NULL,
    created_at           timestamptz NOT NULL,
    expires_at           timestamptz NOT NULL,
    state                text        NOT NULL CHECK (state IN ('active', 'erased', 'held', 'blocked')),
    erased_at            timestamptz NULL,
    erase_reason         text        NULL,
    pending_erase_reason text        NULL,
    CHECK ((state = 'erased') = (wrapped_key IS NULL))
);
CREATE INDEX ix_images_consent ON images (consent_id);
CREATE INDEX ix_images_bot_created ON images (bot_id, created_at);
-- The retention sweep reads only rows not yet erased, oldest expiry first.
CREATE INDEX ix_images_expiry_unerased ON images (expires_at) WHERE state <> 'erased';

CREATE TABLE audit_events (
    seq        bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at         timestamptz NOT NULL,
    kind       text        NOT NULL,
    bot_id     text        NULL,
    image_id   uuid        NULL,
    consent_id uuid        NULL,
    actor      text        NOT NULL,
    reason     text        NULL
);
CREATE INDEX ix_audit_at ON audit_events (at);
CREATE INDEX ix_audit_image ON audit_events (image_id) WHERE image_id IS NOT NULL;
CREATE INDEX ix_audit_consent ON audit_events (consent_id) WHERE consent_id IS NOT NULL;

-- Append-only: a trigger refuses every UPDATE, DELETE and TRUNCATE, whoever runs it.
CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only' USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER audit_events_append_only_rows BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
CREATE TRIGGER audit_events_append_only_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();
