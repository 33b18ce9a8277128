-- 0003: the durable queue of Kakao image fetches (IKakaoFetchQueue).
-- url is a capability URL that expires within minutes: kept only while the fetch is pending, nulled when done or given up.
-- No user key here: the consent row holds only its keyed hash.
CREATE TABLE kakao_fetches (
    id              TEXT    NOT NULL PRIMARY KEY,
    request_id      TEXT    NOT NULL,
    position        INTEGER NOT NULL,
    bot_id          TEXT    NOT NULL,
    consent_id      TEXT    NOT NULL REFERENCES consents (id),
    url             TEXT    NULL,
    deadline        INTEGER NOT NULL,
    state           TEXT    NOT NULL CHECK (state IN ('pending', 'done', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    lease_until     INTEGER NULL,
    last_error      TEXT    NULL,
    image_id        TEXT    NULL,
    created_at      INTEGER NOT NULL,
    finished_at     INTEGER NULL,
    CHECK ((state = 'pending') = (url IS NOT NULL))
);
CREATE INDEX ix_kakao_fetches_request ON kakao_fetches (request_id, position);
-- The worker reads only pending rows, earliest due first.
CREATE INDEX ix_kakao_fetches_due ON kakao_fetches (next_attempt_at) WHERE state = 'pending';
