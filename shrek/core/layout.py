"""Where things are in a registry: the names of its files and directories.

Every layer agrees on these names, and the command line's quick paths (:mod:`shrek.cli.quick`)
read them without importing the registry, YAML or the schemas — so they live in a module that
imports nothing.
"""

REGISTRY_FILE = "shrek.yaml"
TAGS_DIR = "tags"
STATE_DIR = ".shrek"  # local working state: catalogue, locks, runs, caches; git-ignored
TAG_FILE = "tag.yaml"
JOB_DIR = "job"
FREEZE_FILE = "freeze.yaml"
SUBMISSIONS_DIR = "submissions"
LIFECYCLE_DIR = "lifecycle"
