-- 0004: durable Kakao callbacks (IKakaoFetchQueue); same meaning as Sqlite/Migrations/0004_kakao_callbacks.sql.
-- url and token are secrets that work once for about a minute: kept only while the callback is open
-- (held, pending, sending), nulled when it is sent, failed, answered directly or expired.
CREATE TABLE kakao_callbacks (
    request_id           uuid        NOT NULL PRIMARY KEY,
    bot_id               text        NOT NULL,
    url                  text        NULL,
    token                text        NULL,
    state                text        NOT NULL CHECK (state IN ('held', 'pending', 'sending', 'sent', 'failed', 'answered', 'expired')),
    due_at               timestamptz NOT NULL,
    valid_until          timestamptz NOT NULL,
    refused_beyond_limit integer     NOT NULL DEFAULT 0,
    created_at           timestamptz NOT NULL,
    claimed_at           timestamptz NULL,
    finished_at          timestamptz NULL,
    CHECK ((state IN ('held', 'pending', 'sending')) = (url IS NOT NULL)),
    CHECK (token IS NULL OR url IS NOT NULL)
);
-- Senders and the expiry sweep read only open callbacks.
CREATE INDEX ix_kakao_callbacks_open ON kakao_callbacks (valid_until) WHERE state IN ('held', 'pending', 'sending');

-- Fetch deadlines are now capped at Kakao:MaxUrlLifetime after receipt; fetches queued before this
-- migration get the default cap (15 minutes after they were queued) instead of their URL's claim.
UPDATE kakao_fetches SET deadline = LEAST(deadline, created_at + interval '15 minutes') WHERE state = 'pending';
