"""Throwaway apps the upgrade tests install for one test: a migration that fails, migrations
that cannot be reversed, and a model whose migration is missing a field."""
