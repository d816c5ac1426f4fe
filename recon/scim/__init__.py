"""The SCIM protocol room: HTTP client, paging, discovery and the filter grammar.

Knows nothing of Parquet or the data folder.
"""
