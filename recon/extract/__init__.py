"""SCIM resources, from live pages or files, into the normalised export tables (CONTRACT §3).

``live`` crawls one SCIM server (``crawl`` holds one crawl's state, ``resume`` its journal),
``files`` is ``recon import``, ``normalize`` turns one resource into rows and ``writer`` streams
them into a staged export partition that the store publishes.
"""
