"""Execute notebooks in place with execnb (nbdev's own engine) so outputs (figures) are stored for the docs.
Skips cells carrying a test flag from settings.ini `tst_flags` (e.g. `#| slow`) unless given with --flags,
and `#| eval: false` cells. `--match TEXT` (repeatable) runs only those flagged cells whose source contains one of
the texts (to re-measure one benchmark), plus every unflagged cell.
Usage: python tools/exec_nbs.py [nbs/01_viz.ipynb ...] [--flags slow] [--match TEXT ...]"""
import sys, os, time
from pathlib import Path
from fastcore.xtras import working_directory
from execnb.shell import CaptureShell
from nbdev.config import get_config
from nbdev.process import extract_directives
from execnb.nbio import read_nb, write_nb

args = sys.argv[1:]
force = set(args[args.index('--flags')+1].split()) if '--flags' in args else set()
if '--flags' in args: i = args.index('--flags'); del args[i:i+2]
match = []
while '--match' in args: i = args.index('--match'); match.append(args[i+1]); del args[i:i+2]
cfg = get_config()
skip = set(cfg.tst_flags.split()) - force
files = [Path(a).absolute() for a in args] or sorted(cfg.nbs_path.glob('[!_.]*.ipynb'))
sys.path.insert(0, str(cfg.config_path))
failed = 0
for fn in files:
    def _skip(cell):
        if cell.cell_type != 'code': return True
        d = extract_directives(cell, remove=False)   # {'slow': [], 'eval:': ['false'], ...}
        if d.get('eval:', [''])[0].lower() == 'false': return True
        flags = set(d.keys()) & set(cfg.tst_flags.split())
        if skip & flags: return True
        return bool(match and flags and not any(m in ''.join(cell.source) for m in match))
    t = time.time()
    nb = read_nb(fn)                           # clear the outputs of the cells that will run (stale ones must not survive)
    for c in nb.cells:
        if not _skip(c): c['outputs'] = []
    write_nb(nb, fn)
    sh = CaptureShell(fn)
    try:
        with working_directory(fn.parent): sh.execute(fn, fn, exc_stop=True, preproc=_skip)
        print(f'executed {fn.name} in {time.time()-t:.1f}s')
    except Exception as e:
        failed += 1; print(f'FAILED {fn.name}: {e!r}', file=sys.stderr)
print(f"exec_nbs: {len(files)-failed} passed, {failed} failed")
sys.exit(1 if failed else 0)
