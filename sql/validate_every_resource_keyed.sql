-- name: validate_every_resource_keyed
-- purpose: without the compiled walker, every resource of one type is its own representative: its key (the type's letter and its row number in the file), raw text and weight 1
-- inputs: rows
-- params: $letter
-- rows: an export's users or groups file read with file_row_number (row position in the file, from 0)
SELECT $letter || file_row_number AS id, raw, 1 AS weight
FROM rows
