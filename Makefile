# pgan: the two commands of the README (`make test`, `make demo`) and a few more.
# Every target installs what it needs into .venv first (torch's CPU wheel before anything that depends on it).
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.pgan-installed
PIPQ   := 2>&1 | { grep -v -E 'is ignored: it is neither|^\s*$$' || true; }
DEMO   ?= runs/demo
RECIPES ?= acgan,acgan_ema,latent_means,latent,latent_detail,latent_d2_detail,moments,moments_factor
SEEDS  ?= 0,1,2
FLAGS  ?=
TRADEOFF_SEEDS ?= 0 1

.PHONY: help install sync test test-slow demo docs execute paper tradeoff tradeoff-acgan bench scale realism quality anatomy clean
help:
	@echo "make test    install into $(VENV), check notebooks/package are in sync, run every notebook's tests"
	@echo "make demo    install, then run the main job on the built-in phantom (outputs in $(DEMO)/)"
	@echo "make docs    build the docs site offline into _docs/ (README.md is regenerated from nbs/index.ipynb)"
	@echo "make test-slow   the tests including cells marked #| slow"
	@echo "make execute     re-execute notebooks so their stored outputs (figures) are fresh (NBS=... to pick some)"
	@echo "make paper       make demo, then re-execute the paper pages (nbs/9[0-3]_*) on its run, and 11_train's AC-GAN demo run"
	@echo "make tradeoff    the DP sweeps into runs/tradeoff/, paper-size phantom, TRADEOFF_SEEDS=0 1, epsilon inf 10 3 1: the moment release and DP-SGD (arch dctgan); about 65 min from scratch on 2 cores (estimated from measured stages: a moment run about 2 min, a dctgan run 3.5-5 min, once the first evaluation on each phantom has trained and cached its real-data classifiers), then its paper page; make tradeoff-acgan: the AC-GAN under DP-SGD on the demo phantom"
	@echo "make bench       re-execute nbs/95_benchmarks.ipynb with its #| bench measurements (about 20 min, on an idle machine)"
	@echo "make realism     re-execute nbs/96_phantom_realism.ipynb: the phantom against the paper's real VUs, with the region classifiers at demo sizes (about 5 min)"
	@echo "make quality     generator recipes side by side on the demo phantom (RECIPES=acgan,acgan_ema,latent_means,latent,latent_detail,latent_d2_detail,moments,moments_factor SEEDS=0,1,2 by default; about 3 hours from scratch), then nbs/98_release_quality.ipynb"
	@echo "make anatomy     the deformable template: make quality's latent and template recipes over SEEDS (--template, about 8 min a seed each), seed 0's variants, the bars and gratings, then the prototype (tools/deform_proto.py, about 12 min a seed) on the latent runs, then nbs/99_release_anatomy.ipynb (2 cores)"
	@echo "make scale       the #| scale cells of nbs/95_benchmarks.ipynb: releases of 100,000 volumes, up to 100,000 x 10,000 candidates (about 1.5 h, 25 GB of disk)"

$(STAMP): settings.ini setup.py
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q -U pip $(PIPQ)
	$(BIN)/python -m pip install -q torch==2.13.0 $(PIPQ)
	$(BIN)/python -m pip install -q -e '.[dev]' $(PIPQ)
	touch $(STAMP)

install: $(STAMP)

# nbdev_export and nbdev_clean must leave pgan/ and nbs/ as they are (notebooks are the source of truth).
sync: install
	@sum() { find pgan nbs -type f \( -name '*.py' -o -name '*.ipynb' \) -not -path '*/.ipynb_checkpoints/*' | sort | xargs md5sum | md5sum; }; \
	before=$$(sum); $(BIN)/nbdev_export; $(BIN)/nbdev_clean; after=$$(sum); \
	if [ "$$before" != "$$after" ]; then \
	  echo "sync: nbdev_export/nbdev_clean changed pgan/ or nbs/ (now fixed in your tree): review and commit them"; exit 1; \
	else echo "sync: pgan/ and nbs/ are in sync and clean"; fi

test: sync
	$(BIN)/python tools/test_nbs.py $(if $(FLAGS),--flags "$(FLAGS)")

test-slow:
	$(MAKE) test FLAGS=slow

demo: install
	$(BIN)/pgan run --profile demo --out $(DEMO) --seed 0
	$(BIN)/python tools/headline.py $(DEMO)
	@echo "demo: open $(DEMO)/eval/report.html (verdict, fidelity, diversity/utility, privacy); data in $(DEMO)/data (preview.png),"
	@echo "      the training run in $(DEMO)/train (samples/, metrics.jsonl, checkpoint.pt), the release in $(DEMO)/synthetic/synthetic.h5."
	@echo "      Rerunning make demo skips what is done; rm -rf $(DEMO) to start over."

docs: install
	$(BIN)/python tools/build_docs.py
	@echo "docs: open _docs/index.html"

execute: install
	$(BIN)/python tools/exec_nbs.py $(NBS)
	$(BIN)/nbdev_clean

paper: demo
	$(BIN)/python tools/exec_nbs.py nbs/11_train.ipynb $(wildcard nbs/9[0-3]_*.ipynb) --flags paper
	$(BIN)/nbdev_clean

tradeoff: install
	for s in $(TRADEOFF_SEEDS); do \
	  test -f runs/tradeoff/paper_s$$s/external.h5 || $(BIN)/pgan phantom --profile paper --seed $$s --out runs/tradeoff/paper_s$$s --no-preview; \
	  for e in inf 10 3 1; do \
	    for a in moments dctgan; do \
	      $(BIN)/pgan run --profile demo --data-dir runs/tradeoff/paper_s$$s --arch $$a --spaces pixel --seed $$s --out runs/tradeoff/$${a}_e$${e}_s$$s --cache-dir runs/tradeoff/.cache \
	        $$( [ $$e = inf ] || echo --dp --target-epsilon $$e ) $$( [ $$e$$a = infmoments ] && echo --z-dim 64 --dct-share 0.25 --no-texture ); \
	    done; \
	  done; \
	done
	$(BIN)/python tools/exec_nbs.py nbs/94_paper_tradeoff.ipynb --flags paper
	$(BIN)/nbdev_clean

# The paper's AC-GAN under DP-SGD on the demo phantom (10 epochs, one seed): the collapse 94_paper_tradeoff recalls.
tradeoff-acgan: install
	$(BIN)/pgan run --profile demo --arch acgan --ema 0 --epochs 10 --spaces pixel --seed 0 --out runs/tradeoff/eps_inf
	for e in 10 3 1; do $(BIN)/pgan run --profile demo --arch acgan --ema 0 --epochs 10 --spaces pixel --seed 0 --out runs/tradeoff/eps_$$e --dp --target-epsilon $$e; done

bench: install
	$(BIN)/python tools/exec_nbs.py nbs/95_benchmarks.ipynb --flags bench
	$(BIN)/nbdev_clean

quality: install
	$(BIN)/python tools/quality.py --recipes $(RECIPES) --seeds $(SEEDS) --out runs/quality
	$(BIN)/python tools/exec_nbs.py nbs/98_release_quality.ipynb
	$(BIN)/nbdev_clean

anatomy: install
	$(BIN)/python tools/quality.py --recipes latent,template --seeds $(SEEDS) --out runs/quality --json runs/quality/template_cmp.json
	$(BIN)/python tools/template_variants.py --seed 0 --variants default,asis,pooled,nogain,asis+t0.85
	$(BIN)/python tools/template_unlike.py --sets bars,gratings --seeds $(SEEDS)
	$(BIN)/python tools/deform_proto.py --seeds $(SEEDS) --warped-ae --temperature 1 --texture template_gain --jsonl deform.jsonl
	$(BIN)/python tools/deform_proto.py --seeds $(SEEDS) --warped-ae --temperature 1 --texture template --jsonl deform.jsonl
	$(BIN)/python tools/exec_nbs.py nbs/99_release_anatomy.ipynb
	$(BIN)/nbdev_clean

scale: install
	$(BIN)/python tools/exec_nbs.py nbs/95_benchmarks.ipynb --flags scale
	$(BIN)/nbdev_clean

realism: install
	$(BIN)/python tools/exec_nbs.py nbs/96_phantom_realism.ipynb --flags paper
	$(BIN)/nbdev_clean

clean:
	rm -rf _docs _proc _sphinx jupyter_execute runs
