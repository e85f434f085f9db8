"""Files worth trusting: atomic writes, private work folders, digests, reading ahead."""
