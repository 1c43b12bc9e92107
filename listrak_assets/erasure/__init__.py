"""Forgetting people: the erasure ledger, local erasure of every copy, and retention."""
