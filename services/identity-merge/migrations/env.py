from patron_identity.adapters.tables import metadata
from patron_shared.db.migrations import run_migrations

run_migrations(metadata)
