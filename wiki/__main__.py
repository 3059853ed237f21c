"""``python -m wiki`` is the ``trousse`` command."""

from .cli import main

main(prog_name="trousse")
