"""``python -m wiki`` is the ``trousse`` command."""

from .cli.commands import main

main(prog_name="trousse")
