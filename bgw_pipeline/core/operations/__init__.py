"""How work is run: retry timing with backoff, and the durable ledger of exports."""
