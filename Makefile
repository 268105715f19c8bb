# mirkit: set-up, demo and tests. `make demo` and `make test` install what they need first.
#
# torch: a plain `pip install torch` on a Linux machine pulls the CUDA build (several GB).
# `make install` therefore installs torch on its own first, only when none is present:
#   TORCH_SPEC  (default torch==2.13.0)  and  TORCH_INDEX (default: pip's configured index).
# CPU-only elsewhere:  make install TORCH_INDEX=https://download.pytorch.org/whl/cpu
# NVIDIA GPU:          make install TORCH_INDEX=https://download.pytorch.org/whl/cu126

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
TORCH_SPEC ?= torch==2.13.0
TORCH_INDEX ?=
STAMP := $(VENV)/.mirkit-installed
DEMO_OUT ?= out/demo

APT_PACKAGES := fluidsynth fluid-soundfont-gm timgm6mb-soundfont musescore-general-soundfont-small

.PHONY: install system-deps demo test lint bench clean

install: system-deps $(STAMP)

# Debian packages for `mirkit synth` (FluidSynth and three General MIDI soundfonts). Installed
# when missing and we may (root, or passwordless sudo); otherwise say how, and go on: only
# the synth tests need them, and they skip with that reason.
system-deps:
	@if command -v fluidsynth >/dev/null 2>&1 && [ -f /usr/share/sounds/sf2/FluidR3_GM.sf2 ] \
	    && [ -f /usr/share/sounds/sf2/TimGM6mb.sf2 ] \
	    && [ -e /usr/share/sounds/sf3/MuseScore_General.sf3 ]; then :; \
	elif ! command -v apt-get >/dev/null 2>&1; then \
	  echo "mirkit: install FluidSynth and the FluidR3/TimGM6mb soundfonts for 'mirkit synth'"; \
	elif [ "$$(id -u)" = 0 ]; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    --no-install-recommends $(APT_PACKAGES) >/dev/null; \
	elif sudo -n true 2>/dev/null; then \
	  sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    --no-install-recommends $(APT_PACKAGES) >/dev/null; \
	else \
	  echo "mirkit: for 'mirkit synth' run: sudo apt-get install --no-install-recommends $(APT_PACKAGES)"; \
	fi

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -c "import torch" 2>/dev/null || \
	  $(BIN)/pip install -q $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX)) "$(TORCH_SPEC)"
	$(BIN)/pip install -q -e ".[test]"
	@# test oracle for the Latte metrics: its releases declare Python < 3.11 but run here
	$(BIN)/pip install -q --pre --no-deps --ignore-requires-python "latte-metrics==0.0.1a6"
	@$(BIN)/python -c "import torch; print('mirkit installed with torch', torch.__version__)"
	@touch $(STAMP)

demo: install
	$(BIN)/mirkit transcribe examples/audio/chorale.flac -o $(DEMO_OUT) --plot --overwrite \
	  --format table
	$(BIN)/mirkit evaluate transcription -r examples/audio/chorale.notes.csv \
	  -e $(DEMO_OUT)/chorale.notes.csv --format table \
	  --metrics "F-measure_no_offset,F-measure,Frame Accuracy,Instrument F-measure_no_offset"
	$(BIN)/mirkit make-dmelodies -o $(DEMO_OUT) --indices 0-5,112896,1354751 --export midi \
	  --overwrite --list --format table
	$(BIN)/mirkit generate-melody --chords-from examples/tunes/lark.abc --samples 2 --seed 1 \
	  -o $(DEMO_OUT) --overwrite --format table
	$(BIN)/mirkit inpaint examples/tunes/lark.abc --measures 5-8 --seed 1 \
	  -o $(DEMO_OUT) --overwrite --format table

test: install
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check mirkit tests benchmarks examples
	$(BIN)/mypy mirkit benchmarks

bench: install
	$(BIN)/python benchmarks/cli_startup.py
	$(BIN)/python benchmarks/make_dmelodies.py
	$(BIN)/python benchmarks/evaluate_separation.py
	@echo "transcribe benchmarks need a synth dataset and basic-pitch: see docs/benchmarks.md"

clean:
	rm -rf $(VENV) out .pytest_cache .mypy_cache .ruff_cache
