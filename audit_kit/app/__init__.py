"""The application layer: jobs that cross layers, run under one resolved run context.

`context.py` resolves a run's configuration, limits, engine and catalogues once, at the edge;
`pipeline.py` is the one-shot review (ingest → detect → assess → report); `scan.py` the scheduled
scan. The CLI (and any other edge, such as a web app) builds a context and calls these.
"""
