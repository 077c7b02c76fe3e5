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

.PHONY: demo test install clean

install: $(STAMP)

# torch==2.13.0 comes with the annotate extra; constraints.txt pins every other package for a reproducible install
$(STAMP): setup.cfg pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[annotate,test]'
	touch $@

demo: $(STAMP)
	rm -rf $(DEMO_OUT)
	$(BIN)/skyscript keyframes samples/bigbuckbunny.mp4 $(DEMO_OUT)/keyframes --set every_s=1 --no-progress
	$(BIN)/skyscript contact-sheet $(DEMO_OUT)/keyframes/shots/bigbuckbunny.json
	$(BIN)/skyscript privacy $(DEMO_OUT)/keyframes $(DEMO_OUT)/privacy --no-progress
	$(BIN)/skyscript extract $(DEMO_OUT)/privacy $(DEMO_OUT)/extract --backend heuristic --no-progress
	$(BIN)/skyscript repair $(DEMO_OUT)/extract $(DEMO_OUT)/repair --no-progress
	$(BIN)/skyscript calibrate $(DEMO_OUT)/repair $(DEMO_OUT)/calibrate --no-progress
	$(BIN)/skyscript dialogue $(DEMO_OUT)/calibrate $(DEMO_OUT)/dialogue --no-progress
	$(BIN)/skyscript script $(DEMO_OUT)/dialogue $(DEMO_OUT)/script --no-progress
	$(BIN)/skyscript highlight $(DEMO_OUT)/script $(DEMO_OUT)/highlight --no-progress
	@test -s $(DEMO_OUT)/highlight/plots/bigbuckbunny.png && echo "highlight plot: $(DEMO_OUT)/highlight/plots/bigbuckbunny.png"
	$(BIN)/skyscript restore $(DEMO_OUT)/highlight $(DEMO_OUT)/restore --backend template --no-progress
	$(BIN)/skyscript publish $(DEMO_OUT)/restore skyscript-100m
	$(BIN)/skyscript export fountain skyscript-100m $(DEMO_OUT)/bigbuckbunny.fountain
	$(BIN)/skyscript validate skyscript-100m
	$(BIN)/skyscript show skyscript-100m

test: $(STAMP)
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) out skyscript-100m .pytest_cache .cache
