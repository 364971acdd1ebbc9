"""Upstream trust: the policy, the accept gate, PGP, attestations, advisories, provenance."""
