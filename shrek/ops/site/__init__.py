"""``shrek site``: the registry as a static web catalogue, for the analysers who never run
``shrek``. Built only from what the registry commits (tags, step files, freezes, submission
records, lifecycle events), so any clone — or the registry's CI — builds the same site
offline; ``collect`` reads, ``dag`` draws a tag's steps, ``pages`` writes HTML, ``build``
writes the files that changed."""

from shrek.ops.site.build import SiteReport, build_site

__all__ = ["SiteReport", "build_site"]
