"""The user API: /api/v1/ routes for people and REST clients."""
