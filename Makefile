# The two commands a newcomer needs: `make demo` and `make test`. Each sets itself up.
.PHONY: demo test test-fast lint docs module-utils setup lock media

demo:
	scripts/demo.sh

test:
	scripts/test.sh

# Unit and CLI tests only (no Docker): for quick rounds while developing.
test-fast: setup
	.venv/bin/pytest -m "not integration"

lint: setup
	.venv/bin/ruff check . && .venv/bin/ruff format --check .
	PATH="$(CURDIR)/.venv/bin:$$PATH" .venv/bin/ansible-lint --offline --profile production -q

docs: setup
	.venv/bin/python -m airgapctl.cli.reference > docs/cli.md

# The appliance verifies bundles with a byte-identical copy of the trust core, and writes credential
# include files with one of their format (tests check both).
module-utils:
	rm -rf roles/airgap_repo/module_utils/airgap_trust
	mkdir roles/airgap_repo/module_utils/airgap_trust
	cp airgapctl/bundle/trust/*.py roles/airgap_repo/module_utils/airgap_trust/
	cp airgapctl/gateway/credentials.py roles/secrets/module_utils/airgap_credentials.py

setup:
	scripts/setup.sh

# Cut offline media from tested roles only: make media KEY=bundle.key [BUNDLE=...] [OUT=...]
media:
	scripts/media.sh

# Re-resolve the pinned set after changing pyproject.toml (needs the package index).
lock:
	python3 -m venv .venv-lock && .venv-lock/bin/pip install -q -e '.[dev]'
	{ head -2 constraints.txt; .venv-lock/bin/pip freeze --exclude-editable | grep -v '^airgapctl'; } > constraints.txt.new
	mv constraints.txt.new constraints.txt && rm -rf .venv-lock
