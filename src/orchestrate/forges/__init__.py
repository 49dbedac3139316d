"""Forges: where repositories, pull requests and issues live (GitHub today).

Each forge has an adapter package (``github/``) that turns what the forge sends into
the forge-neutral types of ``models.py``; other capabilities use ``service.py`` only.
"""
