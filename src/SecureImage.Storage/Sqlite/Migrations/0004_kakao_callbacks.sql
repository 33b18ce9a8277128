-- 0004: durable Kakao callbacks (IKakaoFetchQueue), beside the fetches of their request, written in the same
-- transaction. url and token are secrets that work once for about a minute: kept only while the callback is
-- open (held, pending, sending), nulled when it is sent, failed, answered directly or expired.
CREATE TABLE kakao_callbacks (
    request_id           TEXT    NOT NULL PRIMARY KEY,
    bot_id               TEXT    NOT NULL,
    url                  TEXT    NULL,
    token                TEXT    NULL,
    state                TEXT    NOT NULL CHECK (state IN ('held', 'pending', 'sending', 'sent', 'failed', 'answered', 'expired')),
    due_at               INTEGER NOT NULL,
    valid_until          INTEGER NOT NULL,
    refused_beyond_limit INTEGER NOT NULL DEFAULT 0,
    created_at           INTEGER NOT NULL,
    claimed_at           INTEGER NULL,
    finished_at          INTEGER NULL,
    CHECK ((state IN ('held', 'pending', 'sending')) = (url IS NOT NULL)),
    CHECK (token IS NULL OR url IS NOT NULL)
);
-- Senders and the expiry sweep read only open callbacks.
CREATE INDEX ix_kakao_callbacks_open ON kakao_callbacks (valid_until) WHERE state IN ('held', 'pending', 'sending');

-- Fetch deadlines are now capped at Kakao:MaxUrlLifetime after receipt; fetches queued before this
-- migration get the default cap (15 minutes after they were queued) instead of their URL's claim.
UPDATE kakao_fetches SET deadline = MIN(deadline, created_at + 900000) WHERE state = 'pending';
