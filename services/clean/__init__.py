"""The clean stage: raw page bytes -> the article a reader sees.

Modules, in pipeline order:

- :mod:`~services.clean.decode`: bytes -> text, WHATWG order (BOM, HTTP charset,
  ``<meta>`` prescan, detection) with checks for lying declarations.
- :mod:`~services.clean.metadata`: title, authors, date, canonical URL, lead image from
  meta tags, JSON-LD, ``<h1>``, ``<time>`` and visible Arabic/Latin dates.
- :mod:`~services.clean.prune`: layout tables unwrapped, page chrome removed, the
  article container located.
- :mod:`~services.clean.extract`: the pipeline; trafilatura's main-text core runs on
  the article container (or the pruned page), its full cascade only where the fast
  result covers little of the page.
- :mod:`~services.clean.language`: lingua on a prefix of the text.
- :mod:`~services.clean.handler`: the pure handler (``news.raw`` -> ``news.clean``) and
  the CLI's ``extract_record``.
- :mod:`~services.clean.errors`: every rejection, all dead-lettered.

``bench/extract`` measures the extractor against trafilatura on the shared evaluation
sets; ``tests/clean`` checks it on real Arabic text in realistic page templates.
"""
