"""Security scanning: secrets, SAST, dependency vulnerabilities and licences, offline.

Each scanner turns a tree (or a diff, or git history) into ``models.Finding`` values;
``sarif``, ``reports``, ``baseline`` and the gate work on findings alone.
"""
