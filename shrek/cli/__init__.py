"""The ``shrek`` command line: parse, call a use case, print. No logic lives here.

:mod:`shrek.cli.main` runs a command: it loads the typer application of :mod:`shrek.cli.app`
and the command groups beside it. :mod:`shrek.cli.quick` answers the few questions asked most
often (``shrek tag list``) from SHREK's caches without loading typer; this package itself
imports nothing, so that path stays quick.
"""
