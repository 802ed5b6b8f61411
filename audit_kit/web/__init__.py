"""The web app: another edge beside the CLI (`audit-kit serve`), over the people store and its read models.

`app.create_app(settings)` builds a Starlette application: server-rendered pages (Jinja2, the reports'
loader), a JSON API with the same rules, sign-in with argon2id passwords or OpenID Connect, roles
(reviewer, dpo, admin) and the tool's own hash-chained access log. It never opens DuckDB on a request:
analytical data comes from read models published into `WS/people.sqlite` (`audit_kit.app.readmodels`).
"""
