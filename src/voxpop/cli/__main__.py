"""`python -m voxpop.cli`: the same as the `voxpop` command."""

from voxpop.cli import main

main()
