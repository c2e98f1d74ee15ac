"""A non-linear second stage (prototype, not the library): a small class-conditional GAN on a latent run's training latents.

The latent arch's second stage is a Gaussian factor model: its samples average anatomy that varies non-linearly (the
disc's position and tilt), and decode to a blur (`98_release_quality`, "Where the anatomy is lost"). Here the run's
autoencoder and content texture are kept and the Gaussian is replaced by an MLP GAN (non-saturating loss, R1 on real
latents, projection critic, EMA of the generator) trained for `--seconds` on the training latents:

  --space full     the GAN makes the whole latent map (standardised per latent value)
  --space factor   the GAN makes the coordinates in the run's factor directions; the remainder outside them is the run's own
                   (independent noise per latent value): the GAN only replaces the Gaussian in the directions

2,400 volumes are generated as `pgan run` does and evaluated as `make quality` does (`evaluate_prototype`). One JSON line
per (run, variant) is appended to runs/quality/latent_gan.jsonl; each variant's folder gets samples.png (`compare`: 8 random
training volumes per region above 8 of the variant's).

    python tools/latent_gan.py --recipe latent --seeds 0 --space full,factor --seconds 90
"""
import argparse, copy, json, sys, time
from pathlib import Path
import numpy as np, torch, torch.nn as nn, torch.nn.functional as F
sys.path.insert(0, str(Path(__file__).parent))
from quality import evaluate_prototype
from second_stage import encode
from pgan.generate import LoadedGenerator, generate_h5
from pgan.train import load_checkpoint, build_models
from pgan.models import code_noise, fit_content_texture

def ema_step(avg, net, decay, step):
    "The weight average after update `step` (0, 1, …), its decay warmed up as min(decay, (1 + step) / (10 + step)) so the early average is not the init. The library's `pgan.config.ema_update(n=…)` bias-corrects instead; the page's numbers were measured with this warm-up, so it stays."
    with torch.no_grad():
        for pe, p in zip(avg.parameters(), net.parameters()): pe.lerp_(p, 1 - min(decay, (1 + step) / (10 + step)))

class LatGen(nn.Module):
    "One-hot class ‖ noise → a vector (the latent space's coordinates, standardised)."
    def __init__(self, n_out, n_classes, nz=32, hidden=512, depth=3):
        super().__init__()
        layers, n = [], nz + n_classes
        for _ in range(depth): layers += [nn.Linear(n, hidden), nn.LeakyReLU(0.2)]; n = hidden
        self.net, self.nz, self.K = nn.Sequential(*layers, nn.Linear(n, n_out)), nz, n_classes
    def forward(self, c, e): return self.net(torch.cat([c, e], 1))

class LatCritic(nn.Module):
    "Vector → realness; the class enters by projection (Miyato & Koyama 2018)."
    def __init__(self, n_in, n_classes, hidden=512, depth=3):
        super().__init__()
        layers, n = [], n_in
        for _ in range(depth): layers += [nn.Linear(n, hidden), nn.LeakyReLU(0.2)]; n = hidden
        self.body, self.out, self.embed = nn.Sequential(*layers), nn.Linear(n, 1), nn.Linear(n_classes, n, bias=False)
    def forward(self, x, c):
        h = self.body(x); return self.out(h).squeeze(1) + (self.embed(c) * h).sum(1)

def train_gan(X, y, K, seconds=90, batch=128, lr=2e-4, r1=1.0, ema=0.999, seed=0, log=print):
    "Train the MLP GAN on standardised vectors X (N, d) with classes y for `seconds`; returns the EMA generator and the number of steps."
    torch.manual_seed(seed)
    X, C = torch.as_tensor(X).float(), F.one_hot(torch.as_tensor(y), K).float()
    G, D = LatGen(X.shape[1], K), LatCritic(X.shape[1], K); Ge = copy.deepcopy(G).requires_grad_(False)
    oG, oD = torch.optim.Adam(G.parameters(), lr, betas=(0.5, 0.99)), torch.optim.Adam(D.parameters(), lr, betas=(0.5, 0.99))
    t0, step = time.time(), 0
    while time.time() - t0 < seconds:
        i = torch.randint(len(X), (batch,)); x, c = X[i], C[i]
        xr = x.requires_grad_(True); dr = D(xr, c)
        g, = torch.autograd.grad(dr.sum(), xr, create_graph=True)
        fake = G(c, torch.randn(batch, G.nz)).detach()
        lD = F.softplus(-dr).mean() + F.softplus(D(fake, c)).mean() + r1 / 2 * g.pow(2).sum(1).mean()
        oD.zero_grad(); lD.backward(); oD.step()
        lG = F.softplus(-D(G(c, torch.randn(batch, G.nz)), c)).mean()
        oG.zero_grad(); lG.backward(); oG.step()
        ema_step(Ge, G, ema, step)
        step += 1
        if step % 500 == 0: log(f'  step {step}: D {lD.item():.3f} G {lG.item():.3f}')
    return Ge.eval(), step

class VelocityNet(nn.Module):
    "(x_t, t, class weights) → velocity: an MLP with the time and class added to every hidden layer (flow matching, Lipman et al. 2023)."
    def __init__(self, n, n_classes, hidden=512, depth=3):
        super().__init__()
        self.inp = nn.Linear(n, hidden)
        self.cond = nn.ModuleList([nn.Linear(n_classes + 16, hidden) for _ in range(depth)])
        self.hid = nn.ModuleList([nn.Linear(hidden, hidden) for _ in range(depth)])
        self.out = nn.Linear(hidden, n); nn.init.zeros_(self.out.weight); nn.init.zeros_(self.out.bias)
    def forward(self, x, t, c):
        f = torch.arange(8, dtype=x.dtype) ; te = torch.cat([torch.sin(t[:, None] * 2 ** f), torch.cos(t[:, None] * 2 ** f)], 1)
        h, cc = self.inp(x), torch.cat([c, te], 1)
        for lin, con in zip(self.hid, self.cond): h = h + lin(F.silu(h + con(cc)))
        return self.out(F.silu(h))

class Flow:
    "A trained velocity net; `__call__(c, e)` integrates noise `e` to a sample of class weights `c` (Euler, `n_steps`)."
    def __init__(self, net, n_steps=50): self.net, self.n_steps, self.nz = net, n_steps, net.out.out_features
    def __call__(self, c, e):
        x, h = e, 1 / self.n_steps
        for i in range(self.n_steps): x = x + h * self.net(x, torch.full((len(x),), i * h), c)
        return x

def train_flow(X, y, K, seconds=90, batch=256, lr=3e-4, ema=0.999, seed=0, log=print):
    "Conditional flow matching (straight paths from N(0, I) to the data) on standardised vectors X (N, d) with classes y for `seconds`; the EMA net as a `Flow`, and the steps."
    torch.manual_seed(seed)
    X, C = torch.as_tensor(X).float(), F.one_hot(torch.as_tensor(y), K).float()
    net = VelocityNet(X.shape[1], K); ne = copy.deepcopy(net).requires_grad_(False); opt = torch.optim.Adam(net.parameters(), lr)
    t0, step = time.time(), 0
    while time.time() - t0 < seconds:
        i = torch.randint(len(X), (batch,)); x1, c = X[i], C[i]; x0 = torch.randn_like(x1); t = torch.rand(batch)
        loss = (net(x0 + t[:, None] * (x1 - x0), t, c) - (x1 - x0)).pow(2).mean()
        opt.zero_grad(); loss.backward(); opt.step()
        ema_step(ne, net, ema, step)
        step += 1
        if step % 500 == 0: log(f'  step {step}: loss {loss.item():.4f}')
    return Flow(ne.eval()), step

class ClassGaussian:
    "The control: one Gaussian per class (sample mean and covariance) in the same space; `__call__(c, e)` as `Flow`'s."
    def __init__(self, X, y, K):
        X = torch.as_tensor(X).double(); self.nz = X.shape[1]
        self.m = torch.stack([X[y == k].mean(0) for k in range(K)]).float()
        self.L = torch.stack([torch.linalg.cholesky(torch.cov(X[y == k].T) + 1e-6 * torch.eye(self.nz, dtype=X.dtype)) for k in range(K)]).float()
    def __call__(self, c, e): return c @ self.m + torch.einsum('nk,kij,nj->ni', c, self.L, e)

def refit_tex(G, enc, run:Path, B, mu, seed:int=0):
    "Refit the run's content texture to the residuals of the training volumes' reconstructions projected on the directions B (k, d) about mu, as `GANTrainer.fit_latent` fits it to the full reconstructions'."
    import h5py
    with h5py.File(run/'data'/'train.h5', 'r') as h: X, y = torch.tensor(h['images'][:]).float(), torch.as_tensor(np.asarray(h['regions'][:]).astype(int))
    with torch.no_grad():
        Xh = torch.cat([G.decoder(((((enc(x).flatten(1) - mu) @ B.T) @ B) + mu).view(len(x), *G.latent_shape)) for x in X.split(256)])
    gen = torch.Generator().manual_seed(seed); tb, ep = (32, 8) if G.ctex.bands > 1 else (64, 4)
    pairs = lambda: ((Xh[i], X[i] - Xh[i], y[i]) for i in torch.randperm(len(X), generator=gen).split(tb))
    with torch.enable_grad(): fit_content_texture(G.ctex, pairs, epochs=ep, seed=seed)

def variant(run:Path, space:str, seconds:float, seed:int=0, model:str='gan', refit_texture:bool=False):
    "The run's generator with its latents from `model` ('gan', 'flow' or 'gauss') in `space` ('full', 'factor' or 'pca<k>'; with `refit_texture` and pca<k>, the content texture refitted to it), and the training steps."
    g = LoadedGenerator(run/'train'/'checkpoint.pt', 'cpu'); G = g.G
    ck = load_checkpoint(run/'train'/'checkpoint.pt'); enc = build_models(ck['model'])[1]; enc.load_state_dict(ck['D']); enc.eval()
    Z, y, _ = encode(enc, run/'data', 'train'); Z = Z.float(); K = G.n_classes
    B, mu = G.basis, G.latent_mean
    if space.startswith('pca'):   # pca<k>: the top k principal directions of the training latents, nothing outside them
        mu = Z.mean(0); B = torch.linalg.svd(Z - mu, full_matrices=False)[2][:int(space[3:])]
    V = Z if space == 'full' else (Z - mu) @ B.T     # the vectors the GAN learns
    m, s = V.mean(0), V.std(0).clamp_min(1e-6)
    if refit_texture and space.startswith('pca'): refit_tex(G, enc, run, B, mu, seed)
    if model == 'gauss': net, steps = ClassGaussian((V - m) / s, y, K), 0
    else: net, steps = (train_gan if model == 'gan' else train_flow)((V - m) / s, y, K, seconds=seconds, seed=seed)
    def latents(code):
        c = code[:, :K]
        with torch.no_grad(): v = net(c, code_noise(code, (net.nz,), stream=6)) * s + m
        if space == 'full': return v.view(len(c), *G.latent_shape)
        if space.startswith('pca'): return (v @ B + mu).view(len(c), *G.latent_shape)
        z = v @ B + mu + c @ G.class_offset + G.remainder_noise(code) * G.remainder_sd
        return z.view(len(c), *G.latent_shape)
    G.latents = latents
    return g, steps

def compare(run:Path, sets:dict, png:Path, per_class:int=8, slice_:int=4, seed:int=1):
    "One figure: the middle slice of `per_class` random training volumes per region, then as many volumes of each synthetic file in `sets` (title → path), region by region."
    import h5py, matplotlib; matplotlib.use('Agg'); from matplotlib.figure import Figure
    files = {'real (training set)': run/'data'/'train.h5', **sets}; rng = np.random.default_rng(seed)
    fig = Figure(figsize=(per_class * 0.9, len(files) * 3 * 0.9 + len(files) * 0.3)); sub = fig.subfigures(len(files), 1)
    for sf, (title, f) in zip(np.atleast_1d(sub), files.items()):
        with h5py.File(f, 'r') as h:
            y, names = np.asarray(h['regions'][:]), [n.decode() if isinstance(n, bytes) else str(n) for n in h.attrs.get('class_names', ['cervical', 'thoracic', 'lumbar'])]
            axs = sf.subplots(3, per_class); sf.suptitle(title, fontsize=9)
            for k in range(3):
                for j, i in enumerate(np.sort(rng.choice(np.nonzero(y == k)[0], per_class, replace=False))):
                    axs[k, j].imshow(h['images'][i, slice_], cmap='gray', vmin=-1, vmax=1); axs[k, j].set_xticks([]); axs[k, j].set_yticks([])
                axs[k, 0].set_ylabel(names[k], fontsize=7)
    fig.savefig(png, dpi=70, bbox_inches='tight')

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--recipe', default='latent'); ap.add_argument('--seeds', default='0'); ap.add_argument('--space', default='full,factor')
    ap.add_argument('--seconds', type=float, default=90); ap.add_argument('--model', default='gan', help='gan, flow or gauss (the control), or several with --compare'); ap.add_argument('--no-eval', action='store_true'); ap.add_argument('--refit-texture', action='store_true', help='with pca<k>: the content texture refitted to the residuals of the projected reconstructions')
    ap.add_argument('--quality', default='runs/quality', type=Path); ap.add_argument('--scratch', default='runs/quality/latent_gan', type=Path)
    ap.add_argument('--compare', action='store_true', help='only the figure runs/quality/latent_gan_s<seed>.png: the run\'s own release and the variants (--space, --model, --seconds) already generated')
    a = ap.parse_args(); torch.set_num_threads(2)
    if a.compare:
        for s in (int(s) for s in a.seeds.split(',')):
            run = a.quality/f'{a.recipe}_s{s}'; sets = {f'the run\'s own second stage (factor model, {a.recipe})': run/'synthetic'/'synthetic.h5'}
            for m in a.model.split(','):
                for sp in a.space.split(','): sets[f'{m} in {sp}'] = a.scratch/f'{a.recipe}_{m}_{sp}_{int(a.seconds) if m != "gauss" else 0}_s{s}'/'synthetic.h5'
            compare(run, sets, a.quality/f'latent_gan_s{s}.png'); print('wrote', a.quality/f'latent_gan_s{s}.png')
        sys.exit(0)
    for s in (int(s) for s in a.seeds.split(',')):
        run = a.quality/f'{a.recipe}_s{s}'
        for sp in a.space.split(','):
            t = time.time(); g, steps = variant(run, sp, a.seconds, seed=s, model=a.model, refit_texture=a.refit_texture); out = a.scratch/f'{a.recipe}_{a.model}_{sp}{"_tex" if a.refit_texture else ""}_{int(a.seconds)}_s{s}'; out.mkdir(parents=True, exist_ok=True)
            generate_h5(g, out/'synthetic.h5', n=2400, seed=0, show_progress=False)
            compare(run, {f'{a.model} in {sp}': out/'synthetic.h5'}, out/'samples.png')
            r = dict(recipe=a.recipe, model=a.model, space=sp, refit_texture=a.refit_texture, seconds_gan=a.seconds, steps=steps, seed=s)
            if not a.no_eval: r.update(evaluate_prototype(run/'data', out/'synthetic.h5', out/'eval'))
            r['seconds'] = round(time.time() - t)
            with open(a.quality/'latent_gan.jsonl', 'a') as f: f.write(json.dumps(r) + '\n')
            print(json.dumps(r), flush=True)
