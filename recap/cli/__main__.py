"""`python -m recap.cli`: the same as the `recap` command."""

from recap.cli import main

main()
