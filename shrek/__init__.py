"""SHREK: the sPHENIX Handy Remote Execution Koordinator.

A git repository (the *registry*) is the single source description of every production:
each production *tag* is a directory of schema-validated YAML, frozen, submitted and
recorded through git commits.
"""

__version__ = "0.1.0"
