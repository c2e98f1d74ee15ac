"""Execute notebooks in place with execnb (nbdev's own engine) so outputs (figures) are stored for the docs, then store
their figures as palette PNGs (`tools/light_outputs.py`). Skips cells carrying a test flag from settings.ini
`tst_flags` (e.g. `#| slow`) unless given with --flags, and `#| eval: false` cells. `--match TEXT` (repeatable) runs
only those flagged cells whose source contains one of the texts (to re-measure one benchmark), plus every unflagged cell.
Usage: python tools/exec_nbs.py [nbs/01_viz.ipynb ...] [--flags slow] [--match TEXT ...]"""
import sys, time
from pathlib import Path
from fastcore.script import call_parse, Param
from fastcore.xtras import working_directory
from execnb.shell import CaptureShell
from nbdev.config import get_config
from nbdev.process import extract_directives
from execnb.nbio import read_nb, write_nb
sys.path.insert(0, str(Path(__file__).parent))
from light_outputs import lighten_file

def skipper(tst_flags:set, force:set, match:list):
    "The predicate of cells not to run: not code, `#| eval: false`, or flagged (unless forced, and then only the `match`ed)."
    def _skip(cell):
        if cell.cell_type != 'code': return True
        d = extract_directives(cell, remove=False)   # {'slow': [], 'eval:': ['false'], ...}
        if d.get('eval:', [''])[0].lower() == 'false': return True
        flags = set(d.keys()) & tst_flags
        if (tst_flags - force) & flags: return True
        return bool(match and flags and not any(m in ''.join(cell.source) for m in match))
    return _skip

def execute(fn:Path, skip)->bool:
    "Run the cells of `fn` that `skip` lets through and store their outputs (stale ones of those cells are cleared first)."
    t, nb = time.time(), read_nb(fn)
    for c in nb.cells:
        if not skip(c): c['outputs'] = []
    write_nb(nb, fn)
    try:
        with working_directory(fn.parent): CaptureShell(fn).execute(fn, fn, exc_stop=True, preproc=skip)
    except Exception as e:
        print(f'FAILED {fn.name}: {e!r}', file=sys.stderr); return False
    before, after = lighten_file(fn)
    print(f'executed {fn.name} in {time.time()-t:.1f}s ({before:.0f} KB of outputs, {after:.0f} KB as palette PNGs)'); return True

@call_parse
def main(files:Param("notebooks (default: all in nbs/)", str, nargs="*"),
         flags:Param("test flags whose cells run too, space-separated", str)='',
         match:Param("run only the flagged cells containing this text (repeatable)", str, action='append')=None):
    cfg = get_config(); sys.path.insert(0, str(cfg.config_path))
    paths = [Path(a).absolute() for a in files or []] or sorted(cfg.nbs_path.glob('[!_.]*.ipynb'))
    skip = skipper(set(cfg.tst_flags.split()), set(flags.split()), match or [])
    failed = sum(not execute(fn, skip) for fn in paths)
    print(f"exec_nbs: {len(paths)-failed} passed, {failed} failed")
    sys.exit(1 if failed else 0)
