-- name: reconcile_accounts_bytes
-- purpose: an estimate of the memory the account tables (reconcile_accounts) of the given users files would take, beside DuckDB's memory limit: the uncompressed Parquet size of the kept columns plus a 16-byte DuckDB value header per row and column
-- inputs: none
-- params: $paths, $columns
-- $paths: the users.parquet files; $columns: the columns kept (a list column counts by its
-- top-level name). Reads Parquet footers only. memory_limit is DuckDB's rendering ("3.7 GiB").
SELECT
    coalesce(sum(total_uncompressed_size + 16 * row_group_num_rows), 0)::BIGINT AS bytes,
    current_setting('memory_limit') AS memory_limit
FROM parquet_metadata($paths)
WHERE list_contains($columns, split_part(path_in_schema, ',', 1))
