"""Catalogues: where datasets and their files are looked up and registered.

One interface (:class:`shrek.core.datasets.Catalog`), two implementations that know nothing of
each other: the embedded local catalogue (SQLite in the registry's ignored working state) and
Rucio; plus the frozen file lists of a tag, for checks where no catalogue is reachable.
``shrek freeze`` asks a catalogue for an input dataset's file list; the local backend registers
the outputs it collects. :mod:`shrek.catalogs.factory` opens the one a registry uses.
"""

from shrek.core.datasets import Catalog, DatasetFile, DatasetInfo, unknown_dataset

__all__ = ["Catalog", "DatasetFile", "DatasetInfo", "unknown_dataset"]
