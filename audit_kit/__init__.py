"""audit-kit: security review and compliance auditing for bodies that read a children's records database."""

__version__ = "0.1.0"
