"""Run nbdev's notebook tests (same engine as `nbdev_test`) and end with a countable line:
`notebooks: N passed, M failed`. Exit 1 if any notebook fails.
With several workers, each notebook's process gets `--threads` BLAS/OpenMP threads (default 1): two processes of
two threads each on two cores oversubscribe them, and spinning OpenMP threads then slow both down. A test that sets
its own thread count keeps it; the environment's OMP_NUM_THREADS etc., when set, win.
Usage: python tools/test_nbs.py [--flags "slow"] [--n_workers 2] [--threads 1] [nbs/00_core.ipynb ...]"""
import argparse, os, sys, time
from pathlib import Path

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('files', nargs='*'); ap.add_argument('--flags', default='')
    ap.add_argument('--n_workers', type=int, default=2)
    ap.add_argument('--threads', type=int, default=1, help='BLAS/OpenMP threads per notebook process when several run at once')
    a = ap.parse_args()
    if a.n_workers > 1 and len(a.files) != 1:          # before numpy or torch is imported: they read it once, and workers are forked
        for v in ('OMP_NUM_THREADS', 'MKL_NUM_THREADS', 'OPENBLAS_NUM_THREADS'): os.environ.setdefault(v, str(a.threads))
    from fastcore.parallel import parallel
    from fastcore.xtras import working_directory
    from nbdev.config import get_config
    from nbdev.doclinks import nbglob
    from nbdev.test import test_nb
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
