"""Prototype: the demo AC-GAN with generator changes, at the demo's training time, evaluated as `make quality` does.

    --up transposed | resize   resize: every stride-2 transposed convolution of G becomes nearest upsampling + 3 × 3 conv
    --ema D                    sample from an exponential moving average of G's weights (BatchNorm buffers copied)
    --seconds S                train whole epochs until S seconds have passed (the AC-GAN recipe: about 261 s)
    --epochs N                 or train N epochs (40: the demo profile), whatever the machine's load
    --dcls real                D's class head learns from real volumes only

    python tools/gan_proto.py --tag resize_ema --up resize --ema 0.999
"""
import argparse, copy, json, time, numpy as np, torch
from pathlib import Path
from torch import nn
from pgan.config import make_config
from pgan.train import GANTrainer
from pgan.data import H5Volumes, write_h5
import sys; sys.path.insert(0, str(Path(__file__).parent)); from quality import evaluate_prototype

ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
ap.add_argument('--seeds', default='0'); ap.add_argument('--tag', required=True)
ap.add_argument('--up', default='transposed', choices=['transposed', 'resize']); ap.add_argument('--ema', type=float, default=0)
ap.add_argument('--seconds', type=float, default=261); ap.add_argument('--epochs', type=int, default=0, help='train this many epochs instead of --seconds'); ap.add_argument('--threads', type=int, default=2)
ap.add_argument('--set', default='', help='config overrides k=v,k=v')
ap.add_argument('--dcls', default='both', choices=['both', 'real'], help="D's class loss on real and fake batches (the paper) or on real only")
a = ap.parse_args(); torch.set_num_threads(a.threads)

def resize_convs(G):
    m = G.model
    for i, l in enumerate(m):
        if isinstance(l, nn.ConvTranspose2d) and l.stride == (2, 2):
            c = nn.Conv2d(l.in_channels, l.out_channels, 3, 1, 1, bias=l.bias is not None)
            nn.init.normal_(c.weight, 0, 0.02)
            m[i] = nn.Sequential(nn.Upsample(scale_factor=2, mode='nearest'), c)

for seed in map(int, a.seeds.split(',')):
    t0 = time.time(); D_ = Path(f'runs/quality/acgan_s{seed}/data')
    kw = {k: type(getattr(make_config('demo', arch='acgan'), k))(v) for k, v in (p.split('=') for p in a.set.split(',') if p)}
    cfg = make_config('demo', arch='acgan', seed=seed, **kw)
    t = GANTrainer(cfg, D_/'train.h5')
    t.cbs = []
    if a.dcls == 'real':   # D's class head learns from real volumes only: it cannot learn to name G's mistakes as the class G was asked for
        _cl = t._cls_loss; calls = [0]
        def cls_real_only(logits, y):
            if not any(p.requires_grad for p in t.D.parameters()): return _cl(logits, y)   # g_step: unchanged
            calls[0] += 1                                                                    # d_step: real first, then fake
            return _cl(logits, y) if calls[0] % 2 == 1 else 0 * _cl(logits, y)
        t._cls_loss = cls_real_only
    if a.up == 'resize':
        resize_convs(t.G); t.opt_g = torch.optim.Adam(t.G.parameters(), lr=cfg.lr, betas=(cfg.beta1, cfg.beta2))
    ema = copy.deepcopy(t.G).eval() if a.ema else None
    if ema is not None:
        class EMA:
            order = 0
            def __call__(self, ev):
                if ev != 'after_batch': return
                with torch.no_grad():
                    for pe, p in zip(ema.parameters(), t.G.parameters()): pe.lerp_(p, 1 - a.ema)
                    for be, b in zip(ema.buffers(), t.G.buffers()): be.copy_(b)
        t.cbs = [EMA()]
    t1 = time.time()
    while (t.epoch < a.epochs) if a.epochs else (time.time() - t1 < a.seconds):
        h = t.fit(t.epoch + 1)[-1]
    print(f'seed {seed}: {t.epoch} epochs in {time.time() - t1:.0f} s; last', {k: round(v, 3) for k, v in h.items() if isinstance(v, float)}, flush=True)
    G = ema if ema is not None else t.sampler   # the trainer's own average when the config keeps one (the demo default)
    G.eval()
    tr = H5Volumes(D_/'train.h5'); K = t.n_classes; rng = np.random.default_rng(seed + 100); n = 2400
    yy = rng.choice(K, n, p=t.priors)
    with torch.no_grad():
        xs = torch.cat([G(G.make_z(torch.tensor(yy[j:j+256]), torch.tensor(rng.standard_normal((len(yy[j:j+256]), cfg.z_dim)), dtype=torch.float32)))
                        for j in range(0, n, 256)]).numpy()
    out = Path(f'runs/quality/variants/{a.tag}_s{seed}'); out.mkdir(parents=True, exist_ok=True)
    write_h5(out/'syn.h5', xs, yy, class_names=tr.class_names)
    r = dict(tag=a.tag, seed=seed, epochs=t.epoch, up=a.up, ema=a.ema, set=a.set, **evaluate_prototype(D_, out/'syn.h5', out/'ev', a.threads))
    r['seconds'] = round(time.time() - t0)
    print(json.dumps(r), flush=True); open('runs/quality/variants.jsonl', 'a').write(json.dumps(r) + '\n')
