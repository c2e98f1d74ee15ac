"""The memorising control (#19 item 2): train a recipe on a few training patients for longer and longer, and measure
at each training length whether the release carries those patients' fingerprint lesions (the phantom's ground truth)
and whether the membership attacks — on the synthetic set, and on the released weights — see it.

    python tools/memorise.py subset --data runs/demo/data --patients 10 --out runs/memorise/data
    python tools/memorise.py sweep --recipe latent --epochs 12,50,200 --dir runs/memorise
    python tools/memorise.py sweep --recipe memory --epochs 12,50,200 --dir runs/memorise   # the positive control
    python tools/memorise.py sweep --recipe acgan --epochs 400 --every 100 --dir runs/memorise
    python tools/memorise.py sweep --recipe dctgan --epochs 1000 --every 200 --dir runs/memorise
    python tools/memorise.py control --dir runs/memorise          # copies + noise of the training volumes

Each evaluated release appends one row to `<dir>/memorise.jsonl` (read by `93_paper_privacy`).
"""
import argparse, json, time
from dataclasses import replace
from pathlib import Path
import h5py, numpy as np
from pgan.data import H5Volumes, H5Writer

def subset(data:Path, n_patients:int, out:Path, seed:int=0)->Path:
    "train.h5 of `n_patients` training patients (a seeded choice, every VU of each, the phantom's attributes kept) beside links to the full holdout.h5 and external.h5."
    v = H5Volumes(data/'train.h5')
    pids = np.sort(np.random.default_rng(seed).choice(np.unique(v.patients), n_patients, replace=False))
    rows = np.flatnonzero(np.isin(v.patients, pids))
    with h5py.File(v.path, 'r') as f: lv = f['levels'][:]
    out.mkdir(parents=True, exist_ok=True)
    with H5Writer(out/'train.h5', len(rows), v.shape, v.class_names, attrs={k: a for k, a in v.attrs.items() if k != 'class_names'},
                  with_patients=True, extras=('levels',)) as w:
        for s in range(0, len(rows), 128):
            r = rows[s:s+128]; w.append(np.stack([v[int(i)] for i in r]), v.regions[r], v.patients[r], levels=lv[r])
    for k in ('holdout', 'external'):
        if not (out/f'{k}.h5').exists(): (out/f'{k}.h5').symlink_to((data/f'{k}.h5').resolve())
    return out/'train.h5'

def evaluate_release(d:Path, synthetic:Path, out:Path, checkpoint=None, n_boot:int=1000)->dict:
    "Attacks (pixel space, every attack), fingerprints, copies and — with the checkpoint — the reconstruction attack; the numbers of one row."
    from pgan.evaluate import evaluate
    t0 = time.time()
    M = evaluate(d/'train.h5', d/'holdout.h5', synthetic, d/'external.h5', out=out, fidelity=False, utility=False, max_candidates=800,
                 n_boot=n_boot, checkpoint=checkpoint, log=lambda s: print(s, flush=True))
    P = M['privacy']; keep = lambda r: dict(auc=r['auc'], auc_ci=r['auc_ci'], tpr_at_fpr_0_01=r['tpr_at_fpr_0.01'])
    return dict(attacks={a: keep(r) for a, r in P['pixel'].items() if a != 'dcr'}, fingerprint=P.get('fingerprint'),
                copies=P['copies'], near_copies=P['near_copies'], dcr=P['pixel']['dcr']['share_closer_to_train'], eval_seconds=round(time.time() - t0, 1))

def _append(path:Path, row:dict):
    with open(path, 'a') as f: f.write(json.dumps(row) + '\n')

def sweep(recipe:str, epochs:list, root:Path, every:int=None, n:int=2400, seed:int=0):
    "Train `recipe` on root/data/train.h5 and evaluate each training length. latent: one run per length (its second stage is fitted at a run's end); acgan: one run of max(epochs), a checkpoint every `every` epochs."
    from pgan.config import make_config
    from pgan.train import GANTrainer
    from pgan.generate import generate_h5
    d = root/'data'
    def one(ck:Path, run:Path, e:int, train_s:float):
        syn = generate_h5(ck, run/f'synthetic_e{e:04d}.h5', n=n, seed=seed, show_progress=False)
        row = dict(recipe=recipe, epochs=e, patients=int(len(np.unique(H5Volumes(d/'train.h5').patients))), n_train=H5Volumes(d/'train.h5').n,
                   train_seconds=round(train_s, 1), **evaluate_release(d, syn, run/f'eval_e{e:04d}', ck))
        _append(root/'memorise.jsonl', row); print(json.dumps(row), flush=True)
    if recipe in ('latent', 'memory'):   # memory: the same recipe keeping its training latents (`TrainConfig.memorise`), a generator that memorises by construction
        for e in epochs:
            run = root/f'{recipe}_e{e:04d}'; t0 = time.time()
            if not (run/'checkpoint.pt').exists(): GANTrainer(make_config('demo', arch='latent', epochs=e, checkpoint_every=e, seed=seed, **({'memorise': True} if recipe == 'memory' else {})), d/'train.h5', out=run).fit()
            one(run/'checkpoint.pt', run, e, time.time() - t0)
    elif recipe in ('acgan', 'dctgan'):   # dctgan: batches of 64 (its profile's 256 is sized for thousands of volumes) and one D step per G step (its adaptive schedule, made for DP, lets D win outright here)
        E = max(epochs); run = root/f'{recipe}_e{E:04d}'; t0 = time.time()
        if not (run/'checkpoint.pt').exists():
            cfg = make_config('demo', arch=recipe, epochs=E, checkpoint_every=every or E, seed=seed)
            if recipe == 'dctgan': cfg = replace(cfg, batch_size=64, d_schedule=None)
            GANTrainer(cfg, d/'train.h5', out=run).fit()
        t = time.time() - t0
        for e in range(every or E, E + 1, every or E): one(run/f'checkpoint_epoch_{e:03d}.pt', run, e, t * e / E)
    else: raise SystemExit(f"unknown recipe {recipe!r}: latent, memory, acgan or dctgan")

def control(root:Path, n:int=2400, sd:float=0.02, seed:int=0):
    "The copy-plus-noise control: the release is the training volumes themselves (drawn with replacement) + Gaussian noise of SD `sd`."
    d, g = root/'data', np.random.default_rng(seed)
    v = H5Volumes(d/'train.h5'); X = v[:]; r = g.integers(0, len(X), n)
    out = root/'control'; out.mkdir(parents=True, exist_ok=True)
    with H5Writer(out/'synthetic.h5', n, v.shape, v.class_names, attrs=dict(source='control: copies + noise', noise_sd=sd)) as w:
        for s in range(0, n, 256): b = r[s:s+256]; w.append(np.clip(X[b] + g.normal(0, sd, X[b].shape), -1, 1).astype(np.float32), v.regions[b])
    row = dict(recipe='copies + noise', epochs=None, patients=int(len(np.unique(v.patients))), n_train=v.n, noise_sd=sd, **evaluate_release(d, out/'synthetic.h5', out/'eval'))
    _append(root/'memorise.jsonl', row); print(json.dumps(row), flush=True)

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter); sub = p.add_subparsers(dest='cmd', required=True)
    s = sub.add_parser('subset'); s.add_argument('--data', type=Path, required=True); s.add_argument('--patients', type=int, default=10)
    s.add_argument('--out', type=Path, required=True); s.add_argument('--seed', type=int, default=0)
    w = sub.add_parser('sweep'); w.add_argument('--recipe', required=True); w.add_argument('--epochs', required=True)
    w.add_argument('--every', type=int); w.add_argument('--dir', type=Path, default=Path('runs/memorise')); w.add_argument('--seed', type=int, default=0)
    c = sub.add_parser('control'); c.add_argument('--dir', type=Path, default=Path('runs/memorise')); c.add_argument('--sd', type=float, default=0.02)
    a = p.parse_args()
    if a.cmd == 'subset': print(subset(a.data, a.patients, a.out, a.seed))
    elif a.cmd == 'sweep': sweep(a.recipe, [int(e) for e in a.epochs.split(',')], a.dir, a.every, seed=a.seed)
    else: control(a.dir, sd=a.sd)
