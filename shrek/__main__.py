"""``python -m shrek`` runs the command line."""

from shrek.cli import main

main()
