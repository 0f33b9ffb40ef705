# Profiling Labs: every target that needs the virtual environment creates it first.
# Variables (the same in every target): LAB=<id>, FORCE=1, QUICK=1, METHOD=pid|launch.

PYTHON ?= python3
VENV   ?= .venv
VPY    := $(VENV)/bin/python
# Two stamps: the site's few packages (requirements-site.txt), then everything else (pyproject.toml's
# `dev` extra). `make site` and `make serve` need only the first; every other target needs both.
SITE_STAMP := $(VENV)/.site-installed
STAMP  := $(VENV)/.installed
LABKIT := $(VPY) -m labkit

# Values given on the command line reach a shell only once checked here, in make itself: LAB (or its
# alias ID) is a lab id, METHOD pid or launch, RUNS a number, EXCEPT Python versions; TITLE and
# SPEEDSCOPE are passed as one single-quoted word. $(value X) is the text as typed, so that make never
# expands a `$(shell …)` in it.
ID     ?=
LAB    ?=
RUNS   ?= 5
nondigits = $(subst 0,,$(subst 1,,$(subst 2,,$(subst 3,,$(subst 4,,$(subst 5,,$(subst 6,,$(subst 7,,$(subst 8,,$(subst 9,,$1))))))))))
is_number = $(and $(filter 1,$(words $1)),$(if $(call nondigits,$1),,yes))
# (filter and patsubst tidy whitespace away: the text must be its own strip, so no line break or tab
# can split a recipe's line after the check)
is_lab_id = $(and $(if $(subst $(strip $1),,$1),,yes),$(filter lab-%,$1),$(call is_number,$(patsubst lab-%,%,$1)))
quote = '$(subst ','\'',$(value $1))'
_LAB := $(if $(value LAB),$(value LAB),$(value ID))
ifneq ($(_LAB),)
ifeq ($(call is_lab_id,$(_LAB)),)
$(if $(subst $(strip $(_LAB)),,$(_LAB)),$(error LAB='$(strip $(_LAB))' (with a space, tab, carriage return or \
line break after it) is not a lab id: expected lab-N, N a number (e.g. LAB=lab-1); nothing was run))
$(error LAB='$(_LAB)' is not a lab id: expected lab-N, N a number (e.g. LAB=lab-1); nothing was run)
endif
endif
override LAB := $(_LAB)
_METHOD := $(strip $(value METHOD))
ifneq ($(filter-out pid launch,$(_METHOD))$(word 2,$(_METHOD)),)
$(error METHOD='$(_METHOD)' is not an attach method: expected METHOD=pid or METHOD=launch; nothing was run)
endif
override METHOD := $(_METHOD)
_RUNS := $(or $(value RUNS),5)
ifeq ($(call is_number,$(_RUNS)),)
$(error RUNS='$(_RUNS)' is not a number of runs: expected e.g. RUNS=5; nothing was run)
endif
override RUNS := $(_RUNS)
_JOBS := $(value JOBS)
ifneq ($(_JOBS),)
ifeq ($(call is_number,$(_JOBS)),)
$(error JOBS='$(_JOBS)' is not a number of cells at once: expected e.g. JOBS=2; nothing was run)
endif
endif
override JOBS := $(_JOBS)
# EXCEPT (test-pythons): Python versions X.Y to leave out. Only from the command line: a variable of that
# common name in someone's environment is not meant for us.
version_parts = $(subst ., ,$1)
is_version = $(and $(filter 2,$(words $(call version_parts,$1))),$(call is_number,$(word 1,$(call version_parts,$1))),$(call is_number,$(word 2,$(call version_parts,$1))),$(filter $(word 1,$(call version_parts,$1)).$(word 2,$(call version_parts,$1)),$1))
# $(strip): one line, its newlines and tabs made spaces (a newline would split the recipe's line).
_EXCEPT := $(strip $(if $(filter command line,$(origin EXCEPT)),$(value EXCEPT)))
ifneq ($(strip $(foreach v,$(_EXCEPT),$(if $(call is_version,$v),,x))),)
$(error EXCEPT='$(_EXCEPT)' is not a list of Python versions: expected e.g. EXCEPT=3.11 or EXCEPT="3.10 3.11"; nothing was run)
endif
# A newline would end a recipe's line in the middle of a quoted word: TITLE and SPEEDSCOPE given on the
# command line may not hold one.
define newline


endef
$(foreach v,TITLE SPEEDSCOPE,$(if $(and $(filter command line,$(origin $v)),$(findstring $(newline),$(value $v))),\
$(error $v holds a line break: expected one line of text; nothing was run)))
# make hands command-line variables to every recipe's environment, expanding them as it does. Overridden
# here as the text typed, they are the Makefile's own: make hands them to no recipe's environment (recipes
# get them quoted, as $(call quote,X)), so a `$(shell …)` in them never runs.
override TITLE := $(value TITLE)
override ID := $(value ID)
SPEEDSCOPE_DEFAULT := 1.25.0# the version vendored under docs/speedscope/ (its release.txt)
override SPEEDSCOPE := $(or $(if $(filter command line,$(origin SPEEDSCOPE)),$(value SPEEDSCOPE)),$(SPEEDSCOPE_DEFAULT))
# FORCE, QUICK and LOAD are switches: any text turns them on, and none of it reaches a shell.
override FORCE := $(if $(value FORCE),1)
override QUICK := $(if $(value QUICK),1)
override LOAD := $(if $(value LOAD),1)
override HERE := $(if $(value HERE),1)
# A pattern target's stem (make lab-1, grade-1, reset-1) is checked the same way before its recipe runs.
check_stem = $(if $(call is_number,$*),,$(error $@ is not a target: expected lab-N, grade-N or reset-N, N a number))
OPTS   := $(if $(LAB),--lab $(LAB)) $(if $(FORCE),--force) $(if $(QUICK),--quick) $(if $(METHOD),--method $(METHOD))

.DEFAULT_GOAL := help
.PHONY: help venv site site-zensical serve assets soak matrix check budget notebooks new-lab test test-pythons lint clean speedscope

help: ## Show the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z0-9%-]+:.*## / {printf "  make %-14s %s\n", $$1, $$2}' $(MAKEFILE_LIST)
	@echo "  Variables: LAB=<id> FORCE=1 QUICK=1 METHOD=pid|launch RUNS=N LOAD=1 (soak) JOBS=N (matrix cells, test processes) HERE=1 (matrix)"

# The site's packages only, so that a fresh clone's `make site` is quick: when $(PYTHON) has a pip (22.3+,
# for --python), that pip installs them and the venv gets its own pip only with the full install; no pip
# upgrade; no bytecode compiled ahead (Python writes it on first import).
SYSPIP := $(PYTHON) -m pip --python $(VPY)
export HAS_PIP_223 := import pip, sys; sys.exit(tuple(map(int, pip.__version__.split(".")[:2])) < (22, 3))
$(SITE_STAMP): requirements-site.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "Python 3.10 or newer is needed (set PYTHON=...)")'
	@echo "Setting up $(VENV) for the site build (mkdocs, mkdocs-material)…"
	@test -x $(VPY) || { if $(PYTHON) -c "$$HAS_PIP_223" 2>/dev/null; then \
	  $(PYTHON) -m venv --without-pip $(VENV); else $(PYTHON) -m venv $(VENV); fi; }
	@if $(VPY) -m pip --version >/dev/null 2>&1; then pip="$(VPY) -m pip"; else pip="$(SYSPIP)"; fi; \
	  $$pip install --quiet --no-compile -r requirements-site.txt
	@touch $@

$(STAMP): pyproject.toml $(SITE_STAMP)
	@echo "Installing the toolkit and the development tools into $(VENV) (py-spy, numpy, matplotlib, Jupyter, pytest, ruff, mypy, Zensical, nox)…"
	@$(VPY) -m pip --version >/dev/null 2>&1 || $(VPY) -m ensurepip --upgrade --default-pip >/dev/null
	@$(VPY) -m pip install --quiet --upgrade pip
	@$(VPY) -m pip install --quiet -e '.[dev]'
	@touch $@

venv: $(STAMP) ## Create the virtual environment (.venv) with every dependency

site: $(SITE_STAMP) ## Build the site from the committed pages and assets into site/ (installs only mkdocs)
	@echo "Building the site into site/ (mkdocs build --strict)…"
	@$(VENV)/bin/mkdocs build --strict

site-zensical: $(STAMP) ## Build the same site with Zensical into site-zensical/ (needs Python 3.11+)
	@test -x $(VENV)/bin/zensical || { echo "Zensical is not installed in $(VENV): it needs Python 3.11+ (set PYTHON=...)"; exit 1; }
	LABS_SITE_DIR=site-zensical $(VENV)/bin/zensical build --clean --strict

serve: $(SITE_STAMP) ## Serve the site on http://127.0.0.1:8000 with live reload
	$(VENV)/bin/mkdocs serve --dev-addr 127.0.0.1:8000

lab-%: $(STAMP) ## Run a lab live (make lab-1) and make your exercise once; outputs go to out/lab-N/
	$(check_stem)$(LABKIT) learn lab-$* $(if $(QUICK),--quick) $(if $(METHOD),--method $(METHOD))

grade-%: $(STAMP) ## Grade your exercise (make grade-1): correct, fast, scales; writes out/lab-N/grade.json
	$(check_stem)$(LABKIT) grade lab-$* $(if $(QUICK),--quick)

reset-%: $(STAMP) ## Restore your exercise (exercises/lab-N/) to the original, after asking (FORCE=1: no question)
	$(check_stem)$(LABKIT) reset lab-$* $(if $(FORCE),--force)

assets: $(STAMP) ## Instructor: re-run stale labs and write their results into docs/
	$(LABKIT) assets $(OPTS)

soak: $(STAMP) ## Instructor: measure LAB= RUNS= times (default 5) into a scratch folder; are its claims stable? LOAD=1: under load
	$(if $(LOAD),LABKIT_SOAK_LOAD=1 )$(LABKIT) soak --lab "$(LAB)" --runs $(RUNS) $(if $(QUICK),--quick) $(if $(METHOD),--method $(METHOD))

matrix: $(STAMP) ## Instructor: every lab on every Python found here, as the workflow runs them; merges into .labs/matrix/merged/ (HERE=1: into docs/)
	$(LABKIT) matrix $(if $(LAB),--lab $(LAB)) $(if $(QUICK),--quick) $(if $(JOBS),--jobs $(JOBS)) $(if $(HERE),--here)

check: $(STAMP) ## Check that pages agree with results and that assets are fresh (QUICK=1: what `make assets QUICK=1` wrote into out/quick/)
	$(LABKIT) check $(if $(LAB),--lab $(LAB)) $(if $(QUICK),--quick)

budget: site $(STAMP) ## Words each page of the built site shows by default, against its budget (exit 1 when over)
	$(LABKIT) budget

notebooks: $(STAMP) ## Write each lab's notebook (docs/labs/<id>/<id>.ipynb), then run it in a fresh kernel into out/<id>/notebook/
	$(LABKIT) notebook --execute $(if $(LAB),--lab $(LAB)) $(if $(QUICK),--quick)

new-lab: $(STAMP) ## Instructor: start a new lab (make new-lab LAB=lab-3 TITLE="...")
	$(LABKIT) new-lab --lab "$(LAB)" --title $(call quote,TITLE)

test: $(STAMP) ## Run the test suite, in two processes (JOBS=N: another number; JOBS=0: in this one)
	$(VPY) -m pytest -n $(or $(JOBS),2) --dist loadfile

test-pythons: $(STAMP) ## Run the unit tests on every supported Python, 3.10 to 3.13 (nox; a missing one is skipped; EXCEPT=3.11: all but that one)
	LABKIT_NOX_EXCEPT="$(_EXCEPT)" $(VENV)/bin/nox -s unit -- -n $(or $(JOBS),2)

lint: $(STAMP) ## ruff, mypy, and actionlint on .github/workflows (shellcheck too, when installed)
	$(VENV)/bin/ruff check scripts labs tests noxfile.py
	$(VENV)/bin/ruff format --check scripts labs tests noxfile.py
	$(VENV)/bin/mypy
	$(VENV)/bin/mypy labs/native_service/grader.py  # its module name, grader, is Lab 1's too
	@command -v shellcheck >/dev/null || { \
	  if [ "$$CI" = true ]; then echo "CI=true: shellcheck is needed (apt-get install shellcheck)"; exit 1; fi; \
	  echo "note: shellcheck is not installed: the workflows' run steps and .ci/run are checked without it"; }
	$(VENV)/bin/actionlint
	@if command -v shellcheck >/dev/null; then echo "shellcheck .ci/run"; shellcheck .ci/run; fi

# speedscope's static build, vendored under docs/speedscope/ (MIT, its LICENSE beside it) so that the
# site's "Open in speedscope" links work offline and under `make serve`; SPEEDSCOPE_DEFAULT (above) is
# the version vendored.
speedscope: ## Refresh docs/speedscope/ from the speedscope npm package (SPEEDSCOPE=version)
	npm install --silent --no-audit --no-fund --prefix .labs/npm speedscope@$(call quote,SPEEDSCOPE)
	rm -rf docs/speedscope && mkdir -p docs/speedscope
	cp .labs/npm/node_modules/speedscope/dist/release/* .labs/npm/node_modules/speedscope/LICENSE docs/speedscope/
	# its font's licence is Markdown: as .txt it is published as it is, not built into a page
	for f in docs/speedscope/*.md; do mv "$$f" "$${f%.md}.txt"; done
	# its Java Flight Recorder importer (WebAssembly) names its builder's home folder; our recordings are
	# speedscope JSON, so it is left out (speedscope loads it only when a JFR file is opened)
	rm -f docs/speedscope/jfrview_bg-*.wasm

clean: ## Remove out/, .labs/, site/, site-zensical/ and the nox and Zensical caches (never docs/)
	rm -rf out .labs site site-zensical .cache .nox
