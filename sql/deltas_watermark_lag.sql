-- name: deltas_watermark_lag
-- purpose: missed changes and creations by cause: boundary misses (lastModified advanced past the base but not past the watermark; a watermark lag catches them, the largest gap says how much), never advanced past the base or absent (no lag helps), and after the watermark yet not returned
-- inputs: classified
-- params: $watermark, $inclusive
WITH missed AS (
    SELECT
        head_last_modified,
        base_last_modified,
        in_base,
        CAST($watermark AS TIMESTAMPTZ) AS watermark
    FROM classified
    WHERE in_head AND (changed OR NOT in_base) AND NOT returned
),
causes AS (
    SELECT
        CASE
            WHEN head_last_modified IS NULL THEN 'not_catchable'
            WHEN in_base AND base_last_modified IS NOT NULL AND head_last_modified <= base_last_modified
                THEN 'not_catchable'
            WHEN head_last_modified < watermark OR (head_last_modified = watermark AND NOT $inclusive)
                THEN 'boundary'
            ELSE 'after_watermark'
        END AS cause,
        epoch(watermark) - epoch(head_last_modified) AS gap_seconds
    FROM missed
)
SELECT
    count(CASE WHEN cause = 'boundary' THEN 1 END) AS boundary,
    max(CASE WHEN cause = 'boundary' THEN gap_seconds END) AS max_gap_seconds,
    count(CASE WHEN cause = 'not_catchable' THEN 1 END) AS not_catchable,
    count(CASE WHEN cause = 'after_watermark' THEN 1 END) AS after_watermark
FROM causes
