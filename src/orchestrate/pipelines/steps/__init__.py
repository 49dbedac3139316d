"""What runs each kind of step outside the database: shell commands, agents, outputs."""
