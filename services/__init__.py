"""newsingest: Arabic and English news about Syria, crawled, cleaned, deduplicated and tagged on Kafka.

The tree follows the pipeline::

    crawler  ->  news.raw  ->  clean  ->  news.clean  ->  dedupe  ->  news.unique  ->  tag  ->  news.articles
                                                                                               news.syria

``services.runtime`` is the shared stage runtime (Kafka, HTTP, config, logs, metrics);
every other package is one service whose business logic is a pure handler.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
