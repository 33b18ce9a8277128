-- 0003: the durable queue of Kakao image fetches (IKakaoFetchQueue); same meaning as Sqlite/Migrations/0003_kakao_fetches.sql.
-- url is a capability URL that expires within minutes: kept only while the fetch is pending, nulled when done or given up.
-- No user key here: the consent row holds only its keyed hash. Depends only on 0001 (consents).
CREATE TABLE kakao_fetches (
    id              uuid        NOT NULL PRIMARY KEY,
    request_id      uuid        NOT NULL,
    position        integer     NOT NULL,
    bot_id          text        NOT NULL,
    consent_id      uuid        NOT NULL REFERENCES consents (id),
    url             text        NULL,
    deadline        timestamptz NOT NULL,
    state           text        NOT NULL CHECK (state IN ('pending', 'done', 'failed')),
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL,
    lease_until     timestamptz NULL,
    last_error      text        NULL,
    image_id        uuid        NULL,
    created_at      timestamptz NOT NULL,
    finished_at     timestamptz NULL,
    CHECK ((state = 'pending') = (url IS NOT NULL))
);
CREATE INDEX ix_kakao_fetches_request ON kakao_fetches (request_id, position);
-- The worker reads only pending rows, earliest due first.
CREATE INDEX ix_kakao_fetches_due ON kakao_fetches (next_attempt_at) WHERE state = 'pending';
