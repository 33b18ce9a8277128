-- 0008: sessions from an identity provider recheck the account's role with a refresh token (AdminSessionRecord).
-- refresh_token is protected by ASP.NET Core Data Protection (never the token in the clear) and cleared when the
-- session ends; local sessions leave all three NULL.
ALTER TABLE admin_sessions ADD COLUMN refresh_token text NULL;
ALTER TABLE admin_sessions ADD COLUMN role_checked_at timestamptz NULL;
ALTER TABLE admin_sessions ADD COLUMN recheck_after timestamptz NULL;
