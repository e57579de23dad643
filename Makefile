# The two commands a new user needs: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export LOCKSTEP_DATA_DIR ?= $(CURDIR)/data

.PHONY: run test lint typecheck check bench bench-quick install system-deps clean cluster cluster-stop cluster-status

$(STAMP): pyproject.toml
	@echo "==> creating the virtualenv $(VENV) and installing Lockstep with its test tools"
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --upgrade pip
	@$(PY) -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

install: $(STAMP)

system-deps:
	@bash scripts/install-system-deps.sh

## Serve the API on 127.0.0.1:8786 (noauth) from ./data: btrfs in a loop image as root, else posix.
## As root the worker also runs NFS-Ganesha and access rules are enforced (LOCKSTEP_NFS=off: records only).
run: install system-deps
	@$(PY) -m lockstep.cli db upgrade
	@LOCKSTEP_NFS=$${LOCKSTEP_NFS:-$$([ "$$(id -u)" = 0 ] && echo ganesha || echo off)} $(PY) -m lockstep.cli serve

# Four pytest workers (two per core here: many live tests wait on client polling and process start-up,
# not on the CPU); tests/conftest.py says which tests share a worker (work_unit).
PYTEST_PARALLEL ?= -n 4 --dist loadscope

## The whole test suite: the API in-process on SQLite and PostgreSQL; durability, end-to-end and
## real-storage tests against live `lockstep serve` processes; drivers on real filesystems.
test: install system-deps
	@$(PY) -m ruff check src tests $(wildcard bench)
	@$(PY) -m mypy src tests
	@$(PY) -m pytest -q -p no:cacheprovider $(PYTEST_PARALLEL) $(PYTEST_ARGS)

lint: install
	@$(PY) -m ruff check src tests $(wildcard bench)

typecheck: install
	@$(PY) -m mypy src tests

## Many hosts on this one machine: PostgreSQL, a one-node Ceph (CephFS), two share hosts each with its
## own btrfs pool and both serving CephFS, two API processes (root). Prints the URL.
cluster: install system-deps
	@bash scripts/cluster.sh up

## Stop `make cluster` and remove everything it made (processes, mounts, loop devices, Ceph, database).
cluster-stop:
	@bash scripts/cluster.sh down

cluster-status:
	@bash scripts/cluster.sh status

bench-quick: install system-deps
	@$(PY) bench/run.py --quick

bench: install system-deps
	@$(PY) bench/run.py

clean:
	rm -rf $(VENV) build *.egg-info
