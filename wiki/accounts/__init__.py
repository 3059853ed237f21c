"""Accounts, roles, sessions, API tokens, invitations and rate counts, in ``trousse.sqlite``.

Imports nothing else of ``wiki``.
"""
