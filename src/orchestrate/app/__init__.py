"""The composition root: the one place that knows every capability and wires it.

``capabilities`` lists the capabilities and what each plugs in (routers, CLI commands,
job handlers, process hooks); ``cli`` is the ``orchestrate`` command, ``http`` builds
the FastAPI app, ``worker`` the job runner's registry and loops, ``serve`` the
``serve`` and ``worker`` processes. Nothing imports this package but the entry points
(the console script, ``python -m orchestrate``) and the tests; nothing is imported
here, so the root command stays fast.
"""
