"""Per notebook: exported definitions, the share tested in the next code cell, stored-output KB and the longest cell
(issue #20's measure; run it before and after a restructuring).

An exported definition is a top-level `def` or `class` (public or private) in an `#| export` or `#| exports` cell;
dunder methods added with `@patch` (`__getitem__`, …) are left out: they are exercised through their operators, not their names.
It counts as tested next when its name appears in the first code cell after its own that is not an export cell.
Stored-output KB is the size of the notebook's cell outputs as JSON.

    python tools/nb_stats.py [nbs/*.ipynb] [--public] [--untested]    # --public: only names without a leading underscore;
                                                                      # --untested: list the definitions not tested next
"""
import ast, json, re, sys
from pathlib import Path

def _src(c): return ''.join(c['source'])
def _is_export(s): return bool(re.match(r'\s*#\|\s*exports?\b', s))

def stats(path:Path, public:bool=False)->dict:
    "The numbers of one notebook."
    cells = json.loads(path.read_text())['cells']; code = [c for c in cells if c['cell_type'] == 'code']
    n = tested = 0; untested = []
    for i, c in enumerate(code):
        s = _src(c)
        if not _is_export(s): continue
        try: tree = ast.parse('\n'.join(l for l in s.splitlines() if not l.lstrip().startswith(('#|', '%', '!'))))
        except SyntaxError: continue
        names = [d.name for d in tree.body if isinstance(d, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and not (public and d.name.startswith('_')) and not (d.name.startswith('__') and d.name.endswith('__'))]
        nxt = next((_src(d) for d in code[i + 1:] if not _is_export(_src(d))), '')
        hit = [bool(re.search(rf'\b{re.escape(m)}\b', nxt)) for m in names]
        n += len(names); tested += sum(hit); untested += [m for m, h in zip(names, hit) if not h]
    out_kb = sum(len(json.dumps(c.get('outputs', []))) for c in code) / 1024
    longest = max((len(_src(c).splitlines()) for c in code), default=0)
    return dict(definitions=n, tested_next=tested, output_kb=round(out_kb, 1), longest_cell=longest, cells=len(cells), untested=untested)

def main(args):
    public, show = '--public' in args, '--untested' in args
    files = [Path(a) for a in args if not a.startswith('--')] or sorted(Path('nbs').glob('[0-9]*.ipynb'))
    rows = {f.stem: stats(f, public) for f in files}
    print(f"{'notebook':28s} {'defs':>5s} {'tested next':>12s} {'outputs KB':>11s} {'longest cell':>13s}")
    for k, r in rows.items():
        share = f"{r['tested_next'] / r['definitions']:.0%}" if r['definitions'] else '–'
        print(f"{k:28s} {r['definitions']:5d} {share:>12s} {r['output_kb']:11.1f} {r['longest_cell']:13d}")
        if show and r['untested']: print(f"{'':28s} not tested next: {', '.join(r['untested'])}")
    n, t = sum(r['definitions'] for r in rows.values()), sum(r['tested_next'] for r in rows.values())
    lib = {k: r for k, r in rows.items() if k[:2] < '90'}
    print(f"overall: {t} of {n} definitions tested in the next cell ({t / max(n, 1):.0%}); library notebooks over 150 KB of outputs: "
          + (', '.join(k for k, r in lib.items() if r['output_kb'] > 150) or 'none'))

if __name__ == '__main__': main(sys.argv[1:])
