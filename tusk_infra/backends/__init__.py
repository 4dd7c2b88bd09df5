"""Live backends for the language's provider interfaces: AWS secrets and metrics, PostgreSQL, a disk cache.

Nothing here is imported by `tusk_infra.tusk`; `selection.build_providers` is the one place that turns
configuration into providers (and registers the PostgreSQL `@query` adapter).
"""
