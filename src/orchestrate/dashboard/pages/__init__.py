"""One module per page (or group of pages): each holds a ``router`` of ``PageRoute``s.

A page reads through the owning capability's ``service.py``, renders its template with
``render``, and marks the parts of the page that events refresh with ``data-live``
(``templates/README.md`` explains the pattern). ``dashboard.web`` lists the routers.
"""
