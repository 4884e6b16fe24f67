"""Settings of the test suite: the product's, plus what only tests need."""

from missioncontrol.settings import *  # noqa: F403

# Django's advice for tests: the production hasher spent most of the suite's time hashing
# the test cast's passwords.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

