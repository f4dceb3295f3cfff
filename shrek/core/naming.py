"""The names PanDA submissions give their tasks and output containers, and the names of the
files SHREK adds to every job, in one place (light enough for the local runner to import).

The PanDA backend names what it submits with these, and validation uses the same functions
to refuse, before anything is frozen, a tag whose longest name would break panda-client's
limit: an output or log container name of at most 132 characters (``PsubUtils``'s
``checkTaskParam``), refused only at submission otherwise.
"""

from __future__ import annotations

import re

PROVENANCE_FILE = "shrek-provenance.json"  # written by every job beside its outputs
ORIGIN_FILE = "shrek-origin.txt"  # beside the wrappers: the journal commit, submission ids

MAX_CONTAINER_NAME = 132  # pandaclient.PsubUtils: "following DDM definition"

# An output file names the job that wrote it: ``<prefix>._<NNNNNN><ext>``, PanDA's number of
# the job in its task, or the job's sequence number in the local store (which follows PanDA).
_JOB_MARK = re.compile(r"\._(\d{6,})(?=\.|$)")


def job_mark(file_name: str) -> str | None:
    """The job number an output file's name carries (``._000005``), None when it has none."""
    found = _JOB_MARK.findall(file_name)
    return found[-1] if found else None


def submission_base(scope: str, tag: str, serial: int, test: bool) -> str:
    """``<scope>.[test.]<tag>.sNNNN``: the base of every name of one PanDA submission."""
    return f"{scope}.{'test.' if test else ''}{tag}.s{serial:04d}"


def task_name(base: str, index: int, step: str, *, via_prun: bool = False) -> str:
    """A step's task: the base itself for prun, ``<base>_NNN_<step>`` in a pchain workflow."""
    return base if via_prun else f"{base}_{index:03d}_{step}"


def output_container(task: str, output: str) -> str:
    return f"{task}_{output}/"


def log_container(task: str) -> str:
    return f"{task}.log/"


def code_variable(name: str) -> str:
    """A code repository's variables in the job: ``macros`` -> ``SHREK_CODE_MACROS`` (then
    ``_URL``, ``_REF``, ``_SHA``); characters a variable name cannot hold become ``_``."""
    return "SHREK_CODE_" + re.sub(r"[^A-Z0-9_]", "_", name.upper())
