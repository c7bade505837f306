"""dedupe service: hold back exact and near-duplicate articles, emit revisions.

- :mod:`.handler`     DedupeHandler (the stage), dedupe_records (the CLI)
- :mod:`.fingerprint` folded-text hash and b-bit MinHash signature of a text
- :mod:`.folding`     text folding (Arabic spelling, case, punctuation) and word hashing
- :mod:`.index`       the in-memory index (ids, exact hashes, LSH bands)
- :mod:`.multimap`    compact sorted-array integer multimap under the index
- :mod:`.state`       changelog records (``news.dedupe.state``)
- :mod:`.urls`        URL canonicalization
- :mod:`.errors`      InvalidArticle
"""
