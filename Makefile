# Every target creates its own virtual environment on first use.
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := PYTHONWARNINGS=ignore $(PY) -m pip install --quiet --disable-pip-version-check
RUNTIME := $(VENV)/.runtime
STAMP  := $(VENV)/.installed
NODE   := $(VENV)/node
ASL    := $(NODE)/node_modules/.bin/asl-validator

.PHONY: demo test test-long fuzz bench lint clean

# sparklec alone (what the demo needs), then the test and benchmark tools beside it
$(RUNTIME): pyproject.toml
	python3 -m venv $(VENV)
	$(PIP) --upgrade pip
	$(PIP) -e .
	touch $(RUNTIME)

$(STAMP): $(RUNTIME)
	$(PIP) -e '.[test,bench]'
	touch $(STAMP)

# Each platform tool the tests run gets its own environment outside the work tree, named after the hash of its
# requirements (tests/envs/<tool>.txt) so that reruns and other clones reuse it; uv installs them.
ENVS   := $(HOME)/.cache/sparklec/envs
UV     := $(VENV)/bin/uv
SPARK  := $(ENVS)/spark-$(shell sha256sum tests/envs/spark.txt | cut -c1-12)

$(UV): $(RUNTIME)
	$(PIP) uv
	touch $(UV)

# Apache Spark (pyspark; Java 17), the judge of the Spark SQL sparklec emits
$(SPARK)/.installed: tests/envs/spark.txt | $(UV)
	$(UV) venv --quiet --allow-existing --python python3 $(SPARK)
	VIRTUAL_ENV=$(SPARK) $(UV) pip install --quiet -r tests/envs/spark.txt
	touch $@

# asl-validator (npm), the Step Functions tests' static oracle
$(ASL): $(STAMP)
	mkdir -p $(NODE)
	npm install --silent --no-audit --no-fund --prefix $(NODE) asl-validator@4

## demo: verify the bundled examples, compile them for every backend, run them locally on examples/data
demo: $(RUNTIME)
	$(VENV)/bin/sparklec check examples
	$(VENV)/bin/sparklec fmt --check examples/dsl/*.spk
	mkdir -p out
	$(VENV)/bin/sparklec examples/dsl/customer_etl.spk --emit ir > out/customer_etl.ir.json
	$(VENV)/bin/sparklec graph examples/sparkle --format mermaid > out/sparkle.mmd
	$(VENV)/bin/sparklec convert examples/sparkle -o out/sparkle.spk
	$(VENV)/bin/sparklec examples/sparkle --backend dbt -o out/dbt/sparkle
	$(VENV)/bin/sparklec examples/dsl/customer_silver_daily.spk --backend dbt -o out/dbt/customer_silver_daily
	$(VENV)/bin/sparklec examples/sparkle --backend stepfunctions -o out/stepfunctions/sparkle
	$(VENV)/bin/sparklec examples/dsl/customer_etl.spk --backend stepfunctions -o out/stepfunctions/customer_etl
	$(VENV)/bin/sparklec examples/sparkle --backend argo -o out/argo/sparkle
	$(VENV)/bin/sparklec examples/dsl/partition_fanout.spk --backend argo -o out/argo/partition_fanout
	$(VENV)/bin/sparklec run examples/sparkle --data examples/data -o out/run
	@echo "IR: out/customer_etl.ir.json   DAG: out/sparkle.mmd   configs as .spk: out/sparkle.spk"
	@echo "dbt: out/dbt/   Step Functions: out/stepfunctions/   Argo: out/argo/   tables of the local run: out/run/"

## lint: ruff and mypy --strict (the package and the benchmarks)
lint: $(STAMP)
	$(VENV)/bin/ruff check sparklec tests bench
	$(VENV)/bin/mypy
	$(VENV)/bin/mypy bench

## test: lint, then the whole suite with the CI hypothesis profile
test: lint $(ASL) $(SPARK)/.installed
	HYPOTHESIS_PROFILE=ci $(PY) -m pytest -q

## test-long: the property tests with many more examples
test-long: $(STAMP) $(ASL) $(SPARK)/.installed
	HYPOTHESIS_PROFILE=long $(PY) -m pytest -q

## fuzz: 100,000 mutated .spk files and configs through check and every backend (FUZZ="--cases N" for fewer),
##       then the hypothesis fuzz tests with many more examples; failing cases are kept in out/fuzz/
FUZZ ?= --cases 100000
fuzz: $(STAMP)
	$(PY) tests/fuzzer.py $(FUZZ) --out out/fuzz
	HYPOTHESIS_PROFILE=fuzz $(PY) -m pytest -q tests/test_fuzz.py

## bench: compile time and peak memory for 100 / 1,000 / 10,000 tasks, written to bench/results.md
##        (BENCH="--quick -o out/bench.md" runs small sizes once, as CI does)
BENCH ?=
bench: $(STAMP)
	$(PY) bench/run.py $(BENCH)

clean:
	rm -rf $(VENV) out .pytest_cache .mypy_cache .hypothesis
