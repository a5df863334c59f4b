"""Governance: who may see and do what, the audit trail, the registers and the ethics review.

Built in, not bolted on: every route of the API is decided by :mod:`tweeling.governance.policy`,
every decision that matters is written to the hash-chained audit log, and what leaves the platform
for roles below analyst is aggregated with small-cell suppression.
"""
