# The two commands a newcomer needs: `make run` and `make test`.
.PHONY: run test lock

run:
	@scripts/run.sh

test:
	@scripts/test.sh

# Re-pin dependencies after editing pyproject.toml.
lock:
	.venv/bin/python -m pip install --quiet uv
	.venv/bin/uv pip compile pyproject.toml --group dev --universal --generate-hashes --python-version 3.12 -o requirements.lock
