"""Migration scripts, one per revision; ``_migrate.REVISIONS`` lists them in order."""
