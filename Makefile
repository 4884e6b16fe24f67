# The two commands a newcomer needs: `make run` and `make test`.
.PHONY: run test demo lock

run:
	@scripts/run.sh

test:
	@scripts/test.sh

# A real OpenClaw gateway and a scripted model doing a task on a board (README, Two commands).
demo:
	@scripts/demo.sh

# Re-pin dependencies after editing pyproject.toml.
lock:
	.venv/bin/python -m pip install --quiet uv
	.venv/bin/uv pip compile pyproject.toml --group dev --universal --generate-hashes --python-version 3.12 -o requirements.lock
