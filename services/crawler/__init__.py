"""crawler service: feeds in the Kafka registry -> polite, guarded fetches -> news.raw.

Modules: ``config`` (settings), ``urls`` (canonical URL, article id), ``guard`` (SSRF),
``http`` (the only HTTP client), ``politeness`` (robots.txt, host slots, back-off),
``feeds`` (document parsing), ``state`` (per-feed state and scheduling), ``registry``
(news.feeds and the CLI functions), ``outbox`` (transactions), ``poller`` (one poll),
``websub`` (push subscriptions), ``metrics`` (Prometheus, health endpoints),
``service`` (run_crawler).  ``python -m services.crawler`` runs one instance in registry
mode with settings from the environment.
"""
