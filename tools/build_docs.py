"""Offline docs build for an nbdev-2 project without Quarto (no Quarto binary is reachable offline).
1. nbdev's own notebook processing (same as `nbdev_proc_nbs`, minus the Quarto check): hides `#| hide`
   cells, strips directives, renders `show_doc`, turns the H1/`>` into front matter -> _proc/
2. Turn each processed notebook into a Sphinx page (front matter -> H1 + description) under _sphinx/
3. sphinx-build with myst-nb (stored outputs only, nothing executed) -> _docs/
Usage: python tools/build_docs.py   (then open _docs/index.html)"""
import json, re, shutil, subprocess, sys, uuid, yaml
from pathlib import Path

CONF = '''
project = {lib_name!r}
author = {author!r}
copyright = {copyright!r}
extensions = ["myst_nb"]
nb_execution_mode = "off"            # render stored outputs only, never execute
myst_enable_extensions = ["attrs_inline", "colon_fence"]
nb_render_markdown_format = "myst"   # show_doc outputs are markdown
html_theme = "furo"
html_title = {title!r}
exclude_patterns = ["_build", "**.ipynb_checkpoints"]
suppress_warnings = ["myst.header", "misc.highlighting_failure"]
'''

def main():
    from nbdev.config import get_config
    from nbdev.quarto import refresh_quarto_yml
    from nbdev.serve import proc_nbs
    import nbdev.doclinks
    cfg = get_config()
    root = cfg.config_path
    refresh_quarto_yml(); nbdev.doclinks._build_modidx(); write_sidebar(cfg.nbs_path)
    proc = proc_nbs(force=True)

    src = root/'_sphinx'
    shutil.rmtree(src, ignore_errors=True); src.mkdir()
    pages = []
    for f in sorted(proc.glob('*.ipynb')):
        nb = json.loads(f.read_text())
        fm = {}
        if nb['cells'] and nb['cells'][0]['cell_type'] == 'raw':
            fm = yaml.safe_load(''.join(nb['cells'][0]['source']).strip().strip('-')) or {}
            nb['cells'].pop(0)
        name = Path(fm.get('output-file', f.stem + '.html')).stem
        nb.setdefault('metadata', {})['language_info'] = {'name': 'python'}   # code highlighting
        head = f"# {fm.get('title', name)}\n\n" + (f"*{fm['description']}*\n" if fm.get('description') else '')
        nb['cells'].insert(0, {"cell_type": "markdown", "metadata": {}, "source": head})
        for c in nb['cells']:
            for k in [k for k in c if k not in ('cell_type','id','metadata','source','outputs','execution_count','attachments')]:
                del c[k]                                    # nbdev adds e.g. 'has_sd'; nbformat rejects it
            c.setdefault('id', uuid.uuid4().hex[:8])
            if c['cell_type'] == 'code':                   # Quarto cell options -> myst-nb tags, then drop them
                src_ = ''.join(c['source'])
                if re.search(r'^#\|\s*echo:\s*false', src_, flags=re.M):
                    c['metadata'].setdefault('tags', []).append('remove-input')
                c['source'] = re.sub(r'^#\|.*\n?', '', src_, flags=re.M)
                for o in c.get('outputs', []):             # show_doc markdown starts with '---' (a docutils transition)
                    md = o.get('data', {}).get('text/markdown')
                    if md is not None: o['data']['text/markdown'] = re.sub(r'^\s*---\s*\n', '', ''.join(md))
        (src/f'{name}.ipynb').write_text(json.dumps(nb))
        if name != 'index': pages.append((name, f.stem))

    write_readme(src/'index.ipynb', root/'README.md')   # stands in for `nbdev_readme` (needs Quarto)
    idx = json.loads((src/'index.ipynb').read_text())   # hidden toctree -> sidebar lists every page
    groups = {}                                        # sidebar grouped by concept, from the notebook numbers
    for pg, stem in pages: groups.setdefault(_group(stem), []).append(pg)
    for i, (cap, pgs) in enumerate(sorted(groups.items(), key=lambda kv: GROUPS.index(kv[0]))):
        idx["cells"].append({"cell_type": "markdown", "metadata": {}, "id": f"toctree{i:02d}",
                             "source": f"```{{toctree}}\n:hidden:\n:caption: {cap}\n" + '\n'.join(pgs) + "\n```\n"})
    (src/'index.ipynb').write_text(json.dumps(idx))
    (src/'conf.py').write_text(CONF.format(lib_name=cfg.lib_name, author=cfg.author, copyright=cfg.copyright, title=cfg.title))
    out = root/cfg.doc_path.name
    shutil.rmtree(out, ignore_errors=True)
    rc = subprocess.call([sys.executable, '-m', 'sphinx', '-b', 'html', '-q', str(src), str(out)])
    shutil.rmtree(root/'jupyter_execute', ignore_errors=True)   # myst-nb scratch dir
    return rc

GROUPS = ['Data', 'Models & training', 'Evaluation', 'Command line', 'For developers', 'Paper', 'Benchmarks & reliability']

def write_sidebar(nbs):
    "nbs/sidebar.yml for Quarto users, grouped like this site's sidebar (settings.ini: custom_sidebar = True)."
    stems = sorted(f.stem for f in Path(nbs).glob('[0-9]*.ipynb'))
    lines = ['website:', '  sidebar:', '    contents:', '      - index.ipynb']
    for g in GROUPS:
        mine = [s for s in stems if _group(s) == g]
        if mine: lines += [f'      - section: "{g}"', '        contents:'] + [f'          - {s}.ipynb' for s in mine]
    (Path(nbs)/'sidebar.yml').write_text('\n'.join(lines) + '\n')

def _group(page:str)->str:
    "The sidebar group of a page, from its notebook number (00-09 data, 10-19 models, 20-59 evaluation, ...)."
    n = int(page[:2]) if page[:2].isdigit() else 99
    return ('Data' if n < 10 else 'Models & training' if n < 20 else 'Evaluation' if n < 60 else 'Command line' if n < 65 else 'For developers' if n < 90
            else 'Benchmarks & reliability' if n >= 95 else 'Paper')

def write_readme(nb_path, dest):
    "README.md from the processed index notebook (stored outputs included), like `nbdev_readme`."
    import nbformat
    from nbconvert import MarkdownExporter
    nb = nbformat.reads(nb_path.read_text(), as_version=4)
    for c in nb.cells:                  # figures live on the docs site; README.md stays plain text
        if c.cell_type == 'code':
            c.outputs = [o for o in c.get('outputs', []) if not any(k.startswith('image/') for k in o.get('data', {}))]
    body, res = MarkdownExporter().from_notebook_node(nb)
    dest.write_text('<!-- generated from nbs/index.ipynb by tools/build_docs.py: do not edit -->\n\n' + body.strip() + '\n')

if __name__ == '__main__':   # nbdev's proc_nbs uses a spawn pool: keep the guard
    sys.exit(main())
