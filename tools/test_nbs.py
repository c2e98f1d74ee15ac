"""Run nbdev's notebook tests (same engine as `nbdev_test`) and end with a countable line:
`notebooks: N passed, M failed`. Exit 1 if any notebook fails.
Usage: python tools/test_nbs.py [--flags "slow"] [--n_workers 2] [nbs/00_core.ipynb ...]"""
import argparse, sys, time
from pathlib import Path
from fastcore.parallel import parallel
from fastcore.xtras import working_directory
from nbdev.config import get_config
from nbdev.doclinks import nbglob
from nbdev.test import test_nb

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('files', nargs='*'); ap.add_argument('--flags', default='')
    ap.add_argument('--n_workers', type=int, default=2)
    a = ap.parse_args()
    cfg = get_config()
    files = [Path(f).absolute() for f in a.files] or sorted(nbglob(cfg.nbs_path, as_path=True))
    t = time.time()
    with working_directory(cfg.nbs_path):
        res = parallel(test_nb, files, skip_flags=cfg.tst_flags.split(), force_flags=a.flags.split(),
                       n_workers=a.n_workers if len(files) > 1 else 0, basepath=cfg.config_path, pause=0.01)
    for f, (ok, secs) in zip(files, res): print(f"{'PASS' if ok else 'FAIL'} {f.name} ({secs:.1f}s)")
    npass = sum(ok for ok, _ in res)
    print(f"({time.time()-t:.1f}s)\nnotebooks: {npass} passed, {len(files)-npass} failed")
    return 0 if npass == len(files) else 1

if __name__ == '__main__': sys.exit(main())
