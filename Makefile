# The two commands: `make demo` and `make test` (each sets up .venv first).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_OUT ?= out/demo
export HF_HUB_OFFLINE ?= 1
export HF_DATASETS_OFFLINE ?= 1
# the demo's datasets cache stays in this checkout (another clone's cache would show its paths in __url__)
export HF_HOME ?= $(CURDIR)/.cache/huggingface

.PHONY: demo test install clean bench

install: $(STAMP)

# torch==2.13.0 comes with the annotate extra; constraints.txt pins every other package for a reproducible install
$(STAMP): setup.cfg pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[annotate,test]'
	touch $@

# the whole pipeline on the bundled clip in one command, from scratch, ending
# with the four configs as load_dataset("skyscript-100m", ...) gives them, the card and the pictures
demo: $(STAMP)
	rm -rf $(DEMO_OUT) skyscript-100m
	$(BIN)/skyscript run samples/bigbuckbunny.mp4 $(DEMO_OUT) --config configs/demo.yaml --dataset-dir skyscript-100m

test: $(STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) out skyscript-100m .pytest_cache .cache
