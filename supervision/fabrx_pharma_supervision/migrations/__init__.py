"""Alembic migrations of the supervision store (run by ``fabrx_pharma_supervision.migrate``)."""
