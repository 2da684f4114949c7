"""Incremental builds: the build class (build.py), its writer (writer.py), page keys (keys.py)
and pagination counted from the oldest post (pagination.py). Not a signal plugin: it is
Pelican's PELICAN_CLASS (see plugins/__init__.py and docs/architecture.md)."""
