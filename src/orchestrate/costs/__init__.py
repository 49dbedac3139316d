"""The cost ledger (a row per model call) and spending budgets per period."""
