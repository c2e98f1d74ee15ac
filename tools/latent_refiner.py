"""A latent refiner (prototype, not the library): the run's Gaussian second stage, its samples moved by a small
convolutional net trained adversarially against the training latents.

The factor model's samples decode to a faint disc under blotches (`98_release_quality`, "Where the anatomy is lost"):
its remainder, 70 % of the latents' variance, is Gaussian noise where the training latents hold anatomy. Here the
run's autoencoder, second stage and content texture are kept, and each sampled latent map (standardised per latent
value) goes through a refiner R(z, class) = z + f(z, class): a residual conv net on the 8 × 8 map whose last layer
starts at zero (R starts as the identity: the default's release). f is trained for `--seconds` with the hinge loss
against a spectral-normalised conv critic with a class projection (Miyato & Koyama 2018) that sees the training
latents; the release samples from the refiner's weight average. `--anchor a` adds a × the mean squared move to the
refiner's loss.

2,400 volumes are generated as `pgan run` does and evaluated as `make quality` does (`evaluate_prototype`). One JSON
line per (run, variant) goes to runs/quality/latent_refiner.jsonl; each variant's folder gets samples.png.

    python tools/latent_refiner.py --seeds 0,1,2 --seconds 120
"""
import argparse, copy, json, sys, time
from pathlib import Path
import numpy as np, torch, torch.nn as nn, torch.nn.functional as F
from torch.nn.utils import spectral_norm
sys.path.insert(0, str(Path(__file__).parent))
from quality import evaluate_prototype
from second_stage import encode
from latent_gan import ema_step, compare
from pgan.generate import LoadedGenerator, generate_h5
from pgan.train import load_checkpoint, build_models

class Refiner(nn.Module):
    "(standardised latent map, class weights) → the map moved by a residual conv net; starts as the identity."
    def __init__(self, channels, n_classes, width=32, blocks=2):
        super().__init__(); self.inp = nn.Conv2d(channels + n_classes, width, 3, 1, 1)
        self.blocks = nn.ModuleList([nn.Sequential(nn.LeakyReLU(0.2), nn.Conv2d(width, width, 3, 1, 1), nn.LeakyReLU(0.2), nn.Conv2d(width, width, 3, 1, 1)) for _ in range(blocks)])
        self.out = nn.Conv2d(width, channels, 3, 1, 1); nn.init.zeros_(self.out.weight); nn.init.zeros_(self.out.bias)
    def forward(self, z, c):
        h = self.inp(torch.cat([z, c[:, :, None, None].expand(-1, -1, *z.shape[2:])], 1))
        for b in self.blocks: h = h + b(h)
        return z + self.out(F.leaky_relu(h, 0.2))

class PixelCritic(nn.Module):
    "Decoded volume (C, H, W) → realness: four stride-2 convolutions, spectral-normalised, the class by projection."
    def __init__(self, channels, n_classes, width=32):
        super().__init__(); sn, L, ch = spectral_norm, [], [channels, width, 2 * width, 4 * width, 4 * width]
        for i, o in zip(ch[:-1], ch[1:]): L += [sn(nn.Conv2d(i, o, 4, 2, 1)), nn.LeakyReLU(0.2)]
        self.body, self.lin, self.embed = nn.Sequential(*L), sn(nn.Linear(ch[-1], 1)), sn(nn.Linear(n_classes, ch[-1], bias=False))
    def forward(self, x, c): h = self.body(x).sum((2, 3)); return self.lin(h).squeeze(1) + (self.embed(c) * h).sum(1)

class Critic(nn.Module):
    "Standardised latent map → realness, spectral-normalised, the class by projection."
    def __init__(self, channels, n_classes, width=64):
        super().__init__(); sn = spectral_norm
        self.body = nn.Sequential(sn(nn.Conv2d(channels, width, 3, 1, 1)), nn.LeakyReLU(0.2), sn(nn.Conv2d(width, 2 * width, 4, 2, 1)), nn.LeakyReLU(0.2),
                                  sn(nn.Conv2d(2 * width, 4 * width, 4, 2, 1)), nn.LeakyReLU(0.2))
        self.lin, self.embed = sn(nn.Linear(4 * width, 1)), sn(nn.Linear(n_classes, 4 * width, bias=False))
    def forward(self, x, c): h = self.body(x).sum((2, 3)); return self.lin(h).squeeze(1) + (self.embed(c) * h).sum(1)

def train_refiner(G, Z, y, seconds=120, batch=64, lr=2e-4, width=32, blocks=2, anchor=0., noise=0., critic='latent', seed=0, log=print):
    "Train a `Refiner` on G's samples against the training latents Z (N, *latent_shape) with classes y; returns (its weight average, mean, sd, steps)."
    torch.manual_seed(seed); K, C = G.n_classes, G.latent_shape[0]
    m, s = Z.mean(0), Z.std(0).clamp_min(1e-6); Zs, Y = (Z - m) / s, torch.as_tensor(y).long(); Cy = F.one_hot(Y, K).float()
    pix = critic == 'pixel'   # the critic sees decoded volumes: the training latents' decodings against the refined samples'
    R, D = Refiner(C, K, width, blocks), (PixelCritic(G.n_channels, K) if pix else Critic(C, K)); Re = copy.deepcopy(R).requires_grad_(False)
    oR, oD = torch.optim.Adam(R.parameters(), lr, betas=(0., 0.99)), torch.optim.Adam(D.parameters(), lr, betas=(0., 0.99))
    gen, t0, step = torch.Generator().manual_seed(seed), time.time(), 0
    jit = lambda x: x + noise * torch.randn_like(x) if noise else x   # instance noise on the critic's inputs
    if pix:
        with torch.no_grad(): Xd = torch.cat([G.decoder(z) for z in Z.split(256)])
        for p in G.decoder.parameters(): p.requires_grad_(False)
    see = (lambda z: G.decoder(z * s + m)) if pix else (lambda z: z)
    while time.time() - t0 < seconds:
        i = torch.randint(len(Z), (batch,)); x, c = (Xd[i] if pix else Zs[i]), Cy[i]
        code = G.make_z(Y[i], generator=gen)
        with torch.no_grad(): z0 = (G.latents(code) - m) / s; zf = R(z0, c)
        with torch.no_grad(): xf = see(zf)
        ld = F.relu(1 - D(jit(x), c)).mean() + F.relu(1 + D(jit(xf), c)).mean(); oD.zero_grad(); ld.backward(); oD.step()
        zf = R(z0, c); lg = -D(jit(see(zf)), c).mean() + anchor * (zf - z0).pow(2).mean(); oR.zero_grad(); lg.backward(); oR.step()
        ema_step(Re, R, 0.999, step); step += 1
        if step % (100 if pix else 500) == 0: log(f'step {step} ({time.time() - t0:.0f} s): critic {ld.item():.3f}, refiner {lg.item():.3f}, move {(zf - z0).pow(2).mean().item():.3f}')
    return Re, m, s, step

def variant(run:Path, seed:int, **kw):
    "The run's generator with its sampled latents refined; the training steps."
    g = LoadedGenerator(run/'train'/'checkpoint.pt', 'cpu'); G = g.G
    ck = load_checkpoint(run/'train'/'checkpoint.pt'); enc = build_models(ck['model'])[1]; enc.load_state_dict(ck['D']); enc.eval()
    Z, y, _ = encode(enc, run/'data', 'train'); Z = Z.float().view(-1, *G.latent_shape)
    R, m, s, steps = train_refiner(G, Z, y, seed=seed, **kw); base = G.latents
    def latents(code):
        with torch.no_grad(): return R((base(code) - m) / s, code[:, :G.n_classes]) * s + m
    G.latents = latents
    return g, steps

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--recipe', default='latent'); ap.add_argument('--seeds', default='0'); ap.add_argument('--seconds', type=float, default=120.)
    ap.add_argument('--width', type=int, default=32); ap.add_argument('--blocks', type=int, default=2); ap.add_argument('--batch', type=int, default=64)
    ap.add_argument('--critic', default='latent', choices=('latent', 'pixel')); ap.add_argument('--anchor', type=float, default=0.); ap.add_argument('--noise', type=float, default=0.); ap.add_argument('--no-eval', action='store_true')
    ap.add_argument('--quality', default='runs/quality', type=Path); ap.add_argument('--scratch', default='runs/quality/latent_refiner', type=Path)
    ap.add_argument('--jsonl', default='latent_refiner.jsonl')
    ap.add_argument('--compare', action='store_true', help="only the figure runs/quality/latent_refiner_s<seed>.png: the run's own release, the refiner's with each critic (--seconds, --width, --blocks, batch 64 for the latent critic and 32 for the pixel one, no anchor) and tools/ae_noise_proto.py's σ = 0.3 run, where they exist")
    a = ap.parse_args(); torch.set_num_threads(2)
    if a.compare:
        for s in (int(s) for s in a.seeds.split(',')):
            run = a.quality/f'{a.recipe}_s{s}'; sets = {"the run's own second stage (the default)": run/'synthetic'/'synthetic.h5'}
            for cr, b in (('latent', 64), ('pixel', 32)):
                sets[f'refined, {cr} critic'] = a.scratch/f'{a.recipe}_seconds{a.seconds}_critic{cr}_width{a.width}_blocks{a.blocks}_batch{b}_anchor0.0_noise0.0_s{s}'/'synthetic.h5'
            sets['decoder trained with noise on its codes (σ = 0.3)'] = a.quality/f'{a.recipe}_nae03_s{s}'/'synthetic'/'synthetic.h5'
            compare(run, {k: f for k, f in sets.items() if f.exists()}, a.quality/f'latent_refiner_s{s}.png'); print('wrote', a.quality/f'latent_refiner_s{s}.png')
        sys.exit(0)
    for s in (int(s) for s in a.seeds.split(',')):
        run, t = a.quality/f'{a.recipe}_s{s}', time.time()
        kw = dict(seconds=a.seconds, critic=a.critic, width=a.width, blocks=a.blocks, batch=a.batch, anchor=a.anchor, noise=a.noise)
        g, steps = variant(run, s, **kw)
        out = a.scratch/(f'{a.recipe}_' + '_'.join(f'{k}{v}' for k, v in kw.items()) + f'_s{s}'); out.mkdir(parents=True, exist_ok=True)
        generate_h5(g, out/'synthetic.h5', n=2400, seed=0, show_progress=False)
        compare(run, {'refined': out/'synthetic.h5', 'the run\'s own': run/'synthetic'/'synthetic.h5'}, out/'samples.png')
        r = dict(recipe=a.recipe, seed=s, steps=steps, **kw)
        if not a.no_eval: r.update(evaluate_prototype(run/'data', out/'synthetic.h5', out/'eval'))
        r['seconds'] = round(time.time() - t)
        with open(a.quality/a.jsonl, 'a') as f: f.write(json.dumps(r) + '\n')
        print(json.dumps(r), flush=True)
