"""`python -m cartcode`: the command line."""

from cartcode.cli import main

main()
