"""Synthetic demo data: a catalog of games and shops, rows made from it, a database of them."""
