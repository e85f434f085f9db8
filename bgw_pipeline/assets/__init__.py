"""The export assets: extract, snapshot files, archive, CSV."""
