"""``python -m shrek`` runs the command line."""

from shrek.entry import main

main()
