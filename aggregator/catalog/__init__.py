"""The operator's tools for the sources in ``feeds/`` (issue 13), apart from collection.

    coverage   which missions each source brings (own sources by evidence, covering ones)
    discover   from an HTML page to the feeds it advertises; URL and handle normalisation
    probe      fetch sources once through the collector's HTTP layer, store nothing
    edit       change one entry of a mission file, every other byte kept
    opml       OPML 2.0 in and out, as other feed readers write it

The click commands are in ``aggregator/commands/sources.py``; nothing here prints.
"""
