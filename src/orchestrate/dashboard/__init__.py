"""The web dashboard: server-rendered pages over every capability's service, live
through the event log.

Jinja2 templates rendered by the same FastAPI app as the API; a little plain JavaScript
(``static/``) keeps open pages current from ``/ui/events``, which carries each changed
part already rendered (``pushed.py``); htmx (``vendor/``) refreshes a run's state. A
browser signs in with an API token and then holds a session cookie (``auth``'s dashboard
sessions); every form carries the session's CSRF token. Each page is a module of
``pages/`` with its own router, following the same schema: read through the owning
capability's ``service.py``, render a template, declare what events refresh it.
"""
