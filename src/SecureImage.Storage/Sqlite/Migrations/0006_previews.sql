-- 0005: each image's preview rendition, beside the original: its own blob, its own wrapped data key (bound to
-- preview_id), erased in the same step as the original. preview_state is NULL until a preview is made or found
-- impossible ('unavailable': its pixels did not decode), and set once.
ALTER TABLE images ADD COLUMN preview_state TEXT NULL CHECK (preview_state IN ('ready', 'unavailable'));
ALTER TABLE images ADD COLUMN preview_id TEXT NULL;
ALTER TABLE images ADD COLUMN preview_content_type TEXT NULL;
ALTER TABLE images ADD COLUMN preview_bytes INTEGER NULL;
ALTER TABLE images ADD COLUMN preview_width INTEGER NULL;
ALTER TABLE images ADD COLUMN preview_height INTEGER NULL;
ALTER TABLE images ADD COLUMN preview_blob_name TEXT NULL;
-- An erased image holds no preview key (its CHECK lives on the column: SQLite cannot add table constraints).
ALTER TABLE images ADD COLUMN preview_key_id TEXT NULL;
ALTER TABLE images ADD COLUMN preview_wrapped_key BLOB NULL CHECK (preview_wrapped_key IS NULL OR state <> 'erased');
CREATE UNIQUE INDEX ix_images_preview_blob ON images (preview_blob_name) WHERE preview_blob_name IS NOT NULL;
-- Key re-wrapping finds a preview's key by its preview id.
CREATE INDEX ix_images_preview_id ON images (preview_id) WHERE preview_id IS NOT NULL;
