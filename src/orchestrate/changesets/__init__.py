"""Change sets: one change spanning several repositories, its pull requests opened and
merged in dependency order. Other capabilities use ``service.py`` only."""
