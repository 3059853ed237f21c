"""Rendering: Markdown to HTML and ODT, diffs, the render cache; no Flask, no store.

Imports nothing else of ``wiki``.
"""
