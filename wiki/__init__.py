"""Trousse, a git-backed Markdown wiki for a network's commons.

``web`` (HTTP) over ``app`` (services) over ``render`` and ``accounts``, over the
``repo_store`` and ``search`` packages; ``cli`` on top. See CONTRIBUTING.md.
"""
