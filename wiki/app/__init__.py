"""Application services: every write and what follows it, the data directory, the content rules.

May import ``wiki.render``, ``wiki.accounts``, ``repo_store`` and ``search``; never ``wiki.web`` or ``wiki.cli``.
"""
