"""A deformable template in front of the latent model (prototype, not the library): shape and appearance apart.

The statistical shape-and-appearance idea of medical image analysis (Cootes et al. 2001, active appearance models;
Joshi et al. 2004, unbiased atlases): each training volume is X = A ∘ φ⁻¹, an appearance A in its class's template
space seen through a smooth deformation φ. The latent model samples appearances with the anatomy in place, and a
Gaussian of the deformations moves it, so that the disc's size and shape vary by warping a sharp disc rather than by
adding Gaussian noise to a blurred one.

1. Non-rigid congealing: per training volume a displacement on a coarse G × G grid (bicubic to full size, the same
   for all slices) that brings the volume, at half resolution, closest in squared error to its class's mean of the
   aligned volumes (6 rounds of 40 Adam steps; a smoothness and a size penalty), the first round against a blurred mean.
2. The autoencoder: with --warped-ae, the default's autoencoder (the run's configuration) with its encoder fed the
   aligned volume and its output warped back through the inverse of the volume's own deformation, L1 against the
   volume itself; then the default's second stage on the aligned latents. Without it, `pgan train --profile demo`
   on the aligned volumes (the first try).
3. A Gaussian per class of the training displacements (class mean, the pooled within-class covariance in one
   direction per 8 training patients, an independent SD per value outside them, as `public_directions` does for the
   latents).
4. Sampling: a latent decoded in template space, warped through the inverse of a drawn deformation, then the content
   texture added (--texture orig: fitted to the volumes' own residuals; template: to the aligned volumes' residuals;
   template_gain: that, its spectrum times what the alignment's interpolation took from each in-plane frequency);
   or, with warped (the first try), the template-space sample with its own texture warped whole.
5. 2,400 samples (seed 0) evaluated as `make quality` does against the run's data; one JSON line to --jsonl.

    python tools/deform_proto.py --seeds 0,1,2 --warped-ae --temperature 1 --texture template_gain --jsonl deform.jsonl
"""
import argparse, json, subprocess, sys, time
from pathlib import Path
import h5py, numpy as np, torch, torch.nn.functional as F
sys.path.insert(0, str(Path(__file__).parent))

def field(c, H:int):
    "Dense displacement (N, 2, H, H) in grid_sample's units from coarse control values c (N, 2, G, G)."
    return F.interpolate(c, size=(H, H), mode='bicubic', align_corners=True)

def ident(n:int, H:int): return F.affine_grid(torch.eye(2, 3).expand(n, 2, 3), (n, 1, H, H), align_corners=False)

def warp(x, d, mode='bilinear'):
    "x (N, C, H, W) sampled at p + d(p): d dense (N, 2, H, W)."
    return F.grid_sample(x, ident(len(x), x.shape[-1]) + d.permute(0, 2, 3, 1), mode=mode, padding_mode='border', align_corners=False)

def inverse(d, iters:int=8):
    "e with (p + e(p)) the inverse map of p -> p + d(p): the fixed point e = -d(p + e)."
    e = -d
    for _ in range(iters): e = -warp(d, e)
    return e

def congeal(X, y, K:int, G:int=8, smooth:float=1., rounds:int=6, steps:int=40, lr:float=5e-3, log=print):
    "Coarse displacements (N, 2, G, G) aligning each volume to its class's aligned mean (fit at half resolution)."
    Xs = F.avg_pool2d(X, 2); c = torch.zeros(len(X), 2, G, G, requires_grad=True)
    tv = lambda c: (c[..., 1:, :] - c[..., :-1, :]).pow(2).mean() + (c[..., :, 1:] - c[..., :, :-1]).pow(2).mean()
    for r in range(rounds):
        with torch.no_grad():
            A = warp(Xs, field(c, Xs.shape[-1])); T = torch.stack([A[y == k].mean(0) for k in range(K)])
            if r == 0: T = F.avg_pool2d(T, 3, 1, 1)
        opt = torch.optim.Adam([c], lr=lr)
        for _ in range(steps):
            fit = (warp(Xs, field(c, Xs.shape[-1])) - T[y]).pow(2).mean()
            loss = fit + smooth * 0.01 * (tv(c) * G * G + 0.1 * c.pow(2).mean()); opt.zero_grad(); loss.backward(); opt.step()
        log(f'congeal round {r}: fit {fit.item():.5f}')
    return c.detach()

def fit_shape(c, y, p, K:int, per:int=8, class_cov:bool=False):
    "A Gaussian per class of the coarse displacements: class means, k = patients // per directions of the pooled within-class covariance, an SD per value outside them; with `class_cov`, each class's own covariance in those directions and its own SD outside them (as `fit_class_covariances` does for the latents)."
    Z = c.flatten(1).double(); M = torch.stack([Z[y == k].mean(0) for k in range(K)]); R = Z - M[y]
    U, S, Vt = torch.linalg.svd(R, full_matrices=False); k = min(max(1, len(np.unique(p)) // per), len(Vt))
    V = Vt[:k]; P = R @ V.T; rem = R - P @ V
    if class_cov:
        L = torch.stack([torch.linalg.cholesky(torch.cov(P[y == j].T).reshape(len(V), len(V)) + 1e-9 * torch.eye(len(V), dtype=P.dtype)) for j in range(K)])
        return dict(M=M, V=V, L=L, rem=torch.stack([rem[y == j].std(0) for j in range(K)]), shape=c.shape[1:])
    L = torch.diag(S[:k] / np.sqrt(len(R) - K)).expand(K, k, k)   # the pooled covariance in its own directions, for every class
    return dict(M=M, V=V, L=L, rem=rem.std(0).expand(K, -1), shape=c.shape[1:])

def sample_shape(S, ys, g:torch.Generator):
    "Coarse displacements for classes ys from `fit_shape`'s model."
    n = len(ys)
    z = torch.einsum('nij,nj->ni', S['L'][ys], torch.randn(n, len(S['V']), generator=g, dtype=torch.float64))
    Z = S['M'][ys] + z @ S['V'] + torch.randn(n, S['V'].shape[1], generator=g, dtype=torch.float64) * S['rem'][ys]
    return Z.float().reshape(n, *S['shape'])

def refit_texture(G, E, X, Xa, y, d, seed:int, batch:int=200):
    "Refit G's content texture in the volumes' own space: to X minus its template-space reconstruction warped back through the inverse of each volume's dense displacement d (`fit_content_texture`, as `fit_latent` fits it)."
    from pgan.models import fit_content_texture
    with torch.no_grad():
        Xh = torch.cat([warp(G.decoder(E(Xa[i:i+batch])), inverse(d[i:i+batch]), 'bicubic') for i in range(0, len(X), batch)])
        Rs = torch.cat([G.ctex.split(r) for r in (X - Xh).split(batch)])
    gen = torch.Generator().manual_seed(seed)
    pairs = lambda: ((Xh[i], Rs[i], y[i]) for i in torch.randperm(len(Xh), generator=gen).split(32))
    with torch.enable_grad(): fit_content_texture(G.ctex, pairs, epochs=4, seed=seed, cosine=G.ctex.bands > 1)

def interp_gain(X, Xa, lo:float=1., hi:float=3.):
    "(H, W): sqrt of the in-plane power of the volumes over that of their aligned copies (slice means removed), clipped to [lo, hi]: what the alignment's interpolation took from each frequency."
    P = lambda V: sum(torch.fft.fft2(V[i:i+200] - V[i:i+200].mean((-2, -1), keepdim=True)).abs().pow(2).mean((0, 1)) for i in range(0, len(V), 200))
    return (P(X) / P(Xa)).sqrt().clamp(lo, hi)

def deformed(G, S, seed:int=0, whole:bool=False):
    "Replace G's forward: decode in template space, warp by a deformation drawn from `fit_shape`'s model S for each code's class, then add the texture (with `whole`: the template-space sample, texture included, warped)."
    from pgan.models import code_noise
    gen, K, H, own = torch.Generator().manual_seed(seed + 1), G.n_classes, G.size[0], G.forward
    def forward(code):
        code = code.view(len(code), -1); cls = code[:, :K]
        if whole: return warp(own(code), inverse(field(sample_shape(S, cls.argmax(1), gen), H)), 'bicubic').clamp(-1, 1)
        x = warp(G.decoder(G.latents(code)), inverse(field(sample_shape(S, cls.argmax(1), gen), H)), 'bicubic')
        return (x + G.ctex(x, code_noise(code, (G.n_channels, *G.size), stream=4), cls)).clamp(-1, 1)
    G.forward = forward; return G

def train_warped(X, Xa, y, d, spec:dict, cfg:dict, temperature:float=None, log=print):
    "The default's autoencoder trained with its decoder's output warped back to each volume's own space: L1 against X itself (not its interpolated Xa), encoder fed Xa; then the second stage fitted to the encodings of Xa as `fit_latent` fits it. Returns (G, E)."
    from pgan.train import build_models
    from pgan.models import cool_
    from second_stage import refit
    torch.manual_seed(cfg['seed']); G, E = build_models(dict(spec))
    opt = torch.optim.Adam([*E.parameters(), *G.decoder.parameters()], lr=cfg['lr'], betas=(cfg['beta1'], cfg['beta2']))
    e = torch.cat([inverse(d[i:i+200]) for i in range(0, len(d), 200)]); gen = torch.Generator().manual_seed(cfg['seed'])
    for ep in range(cfg['epochs']):
        t, tot = time.time(), 0.
        for b in torch.randperm(len(X), generator=gen).split(cfg['batch_size']):
            loss = (warp(G.decoder(E(Xa[b])), e[b], 'bicubic') - X[b]).abs().mean(); opt.zero_grad(); loss.backward(); opt.step(); tot += loss.item() * len(b)
        log(f'epoch {ep + 1}: L1 {tot / len(X):.4f} ({time.time() - t:.0f} s)')
    G.eval(); E.eval()
    with torch.no_grad(): Z = torch.cat([E(Xa[i:i+256]) for i in range(0, len(X), 256)]).flatten(1).double()
    refit(G, Z, y.numpy())   # the default's second stage, as `fit_latent` fits it (`second_stage.py`)
    cool_(G, temperature or cfg.get('temperature') or 1.)   # a sampling temperature: the given one, else the run's
    return G, E

def write_like(src:Path, dst:Path, images:np.ndarray):
    "A copy of HDF5 file src with its images replaced."
    with h5py.File(src, 'r') as h, h5py.File(dst, 'w') as o:
        for k, v in h.attrs.items(): o.attrs[k] = v
        for k in h: o.create_dataset(k, data=images if k == 'images' else h[k][:])

def run_seed(run:Path, out:Path, seed:int, G:int, smooth:float):
    from quality import evaluate_prototype
    from pgan.generate import generate_h5
    t0 = time.time(); out.mkdir(parents=True, exist_ok=True)
    with h5py.File(run/'data'/'train.h5', 'r') as h: X, y, p = torch.tensor(h['images'][:]), torch.as_tensor(h['regions'][:].astype(int)), h['patients'][:]
    K = int(y.max()) + 1
    if not (out/'shape.pt').exists():
        c = congeal(X, y, K, G, smooth)
        with torch.no_grad(): Xa = torch.cat([warp(X[i:i+200], field(c[i:i+200], X.shape[-1]), 'bicubic') for i in range(0, len(X), 200)]).clamp(-1, 1)
        wv = lambda V: float(np.mean([V[y == k].var(0).mean().item() for k in range(K)]))
        print(f'seed {seed}: within-class variance {wv(X):.5f} -> {wv(Xa):.5f}; displacement SD {field(c, 64).std().item() * 32:.2f} px; {time.time() - t0:.0f} s', flush=True)
        write_like(run/'data'/'train.h5', out/'aligned.h5', Xa.numpy()); torch.save(dict(c=c), out/'shape.pt')
    c = torch.load(out/'shape.pt', weights_only=True)['c']; t1 = time.time(); d = field(c, X.shape[-1])
    from pgan.generate import LoadedGenerator
    from pgan.train import load_checkpoint, build_models
    with h5py.File(out/'aligned.h5', 'r') as h: Xa = torch.tensor(h['images'][:])
    if WARPED_AE:   # the run's own checkpoint gives the spec and the configuration; its weights are replaced
        g = LoadedGenerator(run/'train'/'checkpoint.pt', 'cpu'); ck = load_checkpoint(run/'train'/'checkpoint.pt')
        if (out/'wae.pt').exists():
            G2, E = build_models(dict(ck['model'])); sd = torch.load(out/'wae.pt', weights_only=True)
            G2.load_state_dict(sd['G']); E.load_state_dict(sd['E']); g.G = G2.eval(); E.eval()
        else:
            g.G, E = train_warped(X, Xa, y, d, ck['model'], ck['config'], TEMPERATURE); torch.save(dict(G=g.G.state_dict(), E=E.state_dict()), out/'wae.pt')
    else:
        if not (out/'train'/'checkpoint.pt').exists():
            subprocess.run([str(Path(sys.executable).parent/'pgan'), 'train', '--data', str(out/'aligned.h5'), '--out', str(out/'train'),
                            '--profile', 'demo', '--seed', str(seed)], check=True)
        g = LoadedGenerator(out/'train'/'checkpoint.pt', 'cpu'); ck = load_checkpoint(out/'train'/'checkpoint.pt')
        E = build_models(ck['model'])[1]; E.load_state_dict(ck['D']); E.eval()
    t2 = time.time()
    generate_h5(g, out/'template.h5', n=2400, seed=0, show_progress=False)   # the template-space samples, for the figure
    if TEXTURE == 'warped': pass   # the template-space sample, its own texture included, warped whole (`deformed`)
    elif TEXTURE.startswith('template'):   # fitted to the aligned volumes' residuals, added after the warp
        refit_texture(g.G, E, Xa, Xa, y, torch.zeros_like(d), seed)
        if TEXTURE == 'template_gain':   # the spectrum the interpolation took back
            gn = interp_gain(X, Xa); g.G.ctex.amp.mul_(gn)
            if g.G.ctex.n_classes: g.G.ctex.class_amp.mul_(gn)
            print(f'interpolation gain: top ring {gn[X.shape[-2] // 2, X.shape[-1] // 2].item():.2f}, mean {gn.mean().item():.3f}', flush=True)
    else: refit_texture(g.G, E, X, Xa, y, d, seed)
    deformed(g.G, fit_shape(c, y, torch.as_tensor(p), K, class_cov=CLASS_COV), seed=0, whole=TEXTURE == 'warped')
    sfx = {'orig': '', 'template': '_ttex', 'template_gain': '_tgain', 'warped': '_twarp'}[TEXTURE] + ('_ccov' if CLASS_COV else ''); syn = out/f'synthetic{sfx}.h5'
    generate_h5(g, syn, n=2400, seed=0, show_progress=False)
    r = dict(recipe=('deform_wae' if WARPED_AE else 'deform') + (f'_t{TEMPERATURE:g}' if TEMPERATURE else '') + sfx, seed=seed, grid=G, smooth=smooth, congeal_s=round(t1 - t0), train_s=round(t2 - t1),
             **evaluate_prototype(run/'data', syn, out/f'eval{sfx}'), seconds=round(time.time() - t0))
    print(json.dumps(r), flush=True); return r

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--seeds', default='0'); ap.add_argument('--grid', type=int, default=8); ap.add_argument('--smooth', type=float, default=1.)
    ap.add_argument('--quality', default='runs/quality', type=Path); ap.add_argument('--jsonl', default='deform.jsonl')
    ap.add_argument('--texture', default='orig', choices=['orig', 'template', 'template_gain', 'warped'], help="fit the content texture to the residuals in the volumes' own space (orig) or in the template space (template, template_gain), and add it after the warp; or (warped, without --warped-ae) warp the whole template-space sample, the texture of its `pgan train` fit included")
    ap.add_argument('--class-cov', action='store_true', help="each class's own covariance of the deformations in the shared directions (default: the pooled one)")
    ap.add_argument('--temperature', type=float, help="the second stage's sampling temperature (default: the run's own, 0.85); with --warped-ae")
    ap.add_argument('--warped-ae', action='store_true', help="train the autoencoder with its output warped back (L1 against the volumes themselves) instead of `pgan train` on the aligned volumes")
    a = ap.parse_args()
    if a.texture == 'warped' and a.warped_ae: ap.error('--texture warped needs the pgan train path (no --warped-ae): its texture is fitted in template space')
    WARPED_AE, TEMPERATURE, TEXTURE, CLASS_COV = a.warped_ae, a.temperature, a.texture, a.class_cov; torch.set_num_threads(2); torch.manual_seed(0)
    for s in (int(s) for s in a.seeds.split(',')):
        r = run_seed(a.quality/f'latent_s{s}', a.quality/f'deform{"_wae" if a.warped_ae else ""}{f"_t{a.temperature:g}" if a.temperature else ""}_g{a.grid}_l{a.smooth:g}_s{s}', s, a.grid, a.smooth)
        with open(a.quality/a.jsonl, 'a') as f: f.write(json.dumps(r) + '\n')
