-- 0009: the background preview pass walks the images still without a preview, oldest upload first. Partial: its
-- size follows the backlog, not the table.
CREATE INDEX ix_images_preview_backlog ON images (created_at, id)
    WHERE preview_state IS NULL AND state <> 'erased' AND pending_erase_reason IS NULL;
