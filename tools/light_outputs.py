"""Store a notebook's figures as 256-colour palette PNGs: the same picture at a third of matplotlib's RGBA PNG or less,
so library notebooks keep their stored outputs small (issue #20: ≤ 150 KB each). `tools/exec_nbs.py` applies it after
executing; run it alone on notebooks whose outputs are already stored. Deterministic and idempotent: an image is
replaced only when its palette version is smaller.

    python tools/light_outputs.py nbs/02_phantom.ipynb ...     # prints KB before → after per notebook
"""
import base64, io, json
from pathlib import Path
from fastcore.script import call_parse, Param
from PIL import Image

def palette_png(data:bytes, colors:int=256)->bytes:
    "PNG bytes → the same image quantised to `colors` colours (median cut, no dither; transparency flattened on white)."
    im = Image.open(io.BytesIO(data))
    if im.mode in ('RGBA', 'LA', 'P'):
        im = im.convert('RGBA'); bg = Image.new('RGBA', im.size, 'white'); im = Image.alpha_composite(bg, im)
    q = im.convert('RGB').quantize(colors=colors, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    out = io.BytesIO(); q.save(out, 'PNG', optimize=True)
    return out.getvalue()

def lighten(nb:dict)->int:
    "Replace every stored `image/png` of `nb` (a notebook's JSON) by its palette PNG where that is smaller; returns the bytes saved."
    saved = 0
    for c in nb['cells']:
        for o in c.get('outputs', []):
            d = o.get('data', {})
            if 'image/png' not in d: continue
            s = d['image/png']; raw = base64.b64decode(''.join(s) if isinstance(s, list) else s)
            new = palette_png(raw)
            if len(new) < len(raw): d['image/png'] = base64.b64encode(new).decode(); saved += len(raw) - len(new)
    return saved

def lighten_file(path)->tuple:
    "Lighten the notebook at `path` in place (nbdev's JSON layout); returns its outputs' KB before and after."
    p = Path(path); nb = json.loads(p.read_text())
    kb = lambda: sum(len(json.dumps(c.get('outputs', []))) for c in nb['cells']) / 1024
    before = kb()
    if lighten(nb): p.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + '\n')
    return before, kb()

@call_parse
def main(files:Param("notebooks to lighten in place", str, nargs='+')):
    "Lighten the stored figures of `files`."
    for f in files:
        b, a = lighten_file(f); print(f"{Path(f).name}: {b:.0f} KB → {a:.0f} KB of outputs")
