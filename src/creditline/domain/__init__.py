"""The pure rules of creditline: amounts, grants, the ledger, spending and expiry.

Nothing in this package performs I/O or reads the clock: time is always passed in.
It imports only the standard library and itself (checked by import-linter).
"""
