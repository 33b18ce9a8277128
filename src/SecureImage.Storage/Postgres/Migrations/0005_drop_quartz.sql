-- 0005: the retention jobs moved from Quartz.NET to Hangfire (its tables live in their own schema,
-- "hangfire" by default, created by Hangfire.PostgreSql). Quartz's clustered store (qrtz_* tables,
-- created by Quartz itself in this schema) is no longer used: dropped whatever Quartz version made it.
-- SQLite needs nothing: Quartz ran on its in-memory store there.
DO $$
DECLARE
    quartz_table text;
BEGIN
    FOR quartz_table IN
        SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename LIKE 'qrtz\_%'
    LOOP
        EXECUTE format('DROP TABLE IF EXISTS %I CASCADE', quartz_table);
    END LOOP;
END
$$;
