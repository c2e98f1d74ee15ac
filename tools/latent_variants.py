"""Second-stage variants of the latent generator on the `make quality` checkpoints (prototypes; the shipped one is `ppca`).

For each seed, the trained autoencoder of runs/quality/latent_s<seed> is kept and only the second stage is refitted
on the training latents; 2,400 volumes are generated and evaluated in pixel space with the region classifiers
(about 2.5 min per seed on 2 cores). One JSON line per seed (stdout and runs/quality/variants.jsonl).

    --variant gauss   PCA space + one Ledoit-Wolf Gaussian per class (the previous default: nothing outside the PCA space)
              ppca    gauss + each class's isotropic SD outside the PCA space (probabilistic PCA; pgan's `fit_latent_gaussians`)
              shrink  ppca with the class covariances shrunk half-way to isotropic (--shrink)
              gmm     ppca space, a Gaussian mixture of --components per class instead of one Gaussian
              lgan    ppca space, a conditional WGAN-GP (two MLPs) on the standardised PCA coordinates, --gan-seconds of training
    --texture none | class | pooled   Gaussian texture with each class's (or the pooled) residual power spectrum
              patient gauss with each class covariance = Ledoit-Wolf of the patients' means (shrunk as --between says)
                      + Ledoit-Wolf of the volumes around their patient's mean: the shrinkage sees 120 patients, not 2,400 volumes
    --leak-split      instead: fit the second stage on half of the training *patients* (A) and report DOMIAS and
                      pairwise AUCs of A and of the other half (B, seen by the autoencoder only) against the holdout

The numbers quoted in nbs/98_release_quality.ipynb:

    python tools/latent_variants.py --variant gauss --texture class --tag gauss_tex
    python tools/latent_variants.py --variant ppca --zdim 16 --texture class --seeds 0 --tag ppca16_tex
    python tools/latent_variants.py --variant ppca --zdim 32 --texture class --seeds 0,2 --tag ppca32_tex
    python tools/latent_variants.py --variant ppca --texture pooled --seeds 0,2 --tag ppca_pooled
    python tools/latent_variants.py --variant shrink --texture class --seeds 0,2 --tag shrink_tex
    python tools/latent_variants.py --variant gmm --zdim 32 --texture class --seeds 0 --tag gmm3_tex
    python tools/latent_variants.py --variant lgan --texture class --seeds 0 --tag lgan_tex
    python tools/latent_variants.py --variant gauss --leak-split --tag split_gauss
"""
import argparse, json, time, types, numpy as np, torch
from pathlib import Path
from torch import nn
from pgan.train import load_checkpoint, build_models
from pgan.models import fit_latent_gaussians, LatentGenerator, ResidualSpectrum
from pgan.data import H5Volumes, write_h5
import sys; sys.path.insert(0, str(Path(__file__).parent)); from quality import evaluate_prototype
from pgan.privacy import score_candidates, attack_auc

ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
ap.add_argument('--seeds', default='0,1,2'); ap.add_argument('--zdim', type=int, default=0); ap.add_argument('--tag', required=True)
ap.add_argument('--variant', default='ppca', choices=['gauss', 'ppca', 'shrink', 'gmm', 'lgan', 'patient'])
ap.add_argument('--texture', default='class', choices=['none', 'class', 'pooled']); ap.add_argument('--shrink', type=float, default=0.5)
ap.add_argument('--components', type=int, default=3); ap.add_argument('--gan-seconds', type=float, default=60)
ap.add_argument('--between', type=float, default=1.0, help='patient: scale of the between-patient covariance')
ap.add_argument('--leak-split', action='store_true'); ap.add_argument('--threads', type=int, default=2)
a = ap.parse_args(); torch.set_num_threads(a.threads)

def second_stage(G, Z, Y, pat=None):
    "Refit G's second stage on latents Z with labels Y (patients `pat`) as `--variant` says (G's buffers; gmm and lgan replace `G.latents`)."
    fit_latent_gaussians(G, Z, Y)
    if a.variant in ('gauss', 'patient'): G.latent_sd.zero_()
    if a.variant == 'patient':    # class covariance = Ledoit-Wolf of the patient means (n = patients) + Ledoit-Wolf within patients
        from sklearn.covariance import ledoit_wolf
        P = ((Z.flatten(1).float() - G.latent_mean) @ G.basis.T).double().numpy(); y = np.asarray(Y); pat = np.asarray(pat)
        for k in range(G.n_classes):
            Pk, pk = P[y == k], pat[y == k]; ids = np.unique(pk)
            M = np.stack([Pk[pk == i].mean(0) for i in ids]); W = Pk - M[np.searchsorted(ids, pk)]
            S = ledoit_wolf(M)[0] * a.between + ledoit_wolf(W)[0]
            G.class_mean[k] = torch.as_tensor(M.mean(0), dtype=torch.float32)
            G.class_chol[k] = torch.as_tensor(np.linalg.cholesky(S + 1e-6 * np.trace(S) / len(S) * np.eye(len(S))), dtype=torch.float32)
    if a.variant == 'shrink':
        for k in range(G.n_classes):
            S = G.class_chol[k] @ G.class_chol[k].T
            G.class_chol[k] = torch.linalg.cholesky((1 - a.shrink) * S + a.shrink * torch.eye(len(S)) * S.diagonal().mean())
    if a.variant in ('gmm', 'lgan'):
        P = (Z.flatten(1).float() - G.latent_mean) @ G.basis.T; y = np.asarray(Y)
        sample = fit_gmm(P, y) if a.variant == 'gmm' else fit_lgan(P, y, G.n_classes)
        def latents(self, code):
            c, e = code[:, :self.n_classes], code[:, self.n_classes:]
            z = sample(c, e) @ self.basis + self.latent_mean
            w = torch.randn(len(code), self.basis.shape[1])
            return (z + (c @ self.latent_sd)[:, None] * (w - (w @ self.basis.T) @ self.basis)).view(len(code), *self.latent_shape)
        G.latents = types.MethodType(latents, G)

def fit_gmm(P, y):
    from sklearn.mixture import GaussianMixture
    gms = [GaussianMixture(a.components, covariance_type='full', reg_covar=1e-3 * P[y == k].var(0).mean().item(), random_state=0).fit(P[y == k].numpy())
           for k in range(int(y.max()) + 1)]
    rng = np.random.default_rng(123)
    def sample(c, e):
        out = []
        for k, ei in zip(c.argmax(1).numpy(), e.double().numpy()):
            g = gms[k]; j = rng.choice(len(g.weights_), p=g.weights_); out.append(g.means_[j] + np.linalg.cholesky(g.covariances_[j]) @ ei)
        return torch.tensor(np.array(out), dtype=torch.float32)
    return sample

def fit_lgan(P, y, K, H=256, B=128):
    s = P.std(0); Pn = P / s; oh = torch.eye(K)[torch.as_tensor(y).long()]; q = P.shape[1]
    torch.manual_seed(0)
    mlp = lambda i, o: nn.Sequential(nn.Linear(i, H), nn.LeakyReLU(0.2), nn.Linear(H, H), nn.LeakyReLU(0.2), nn.Linear(H, o))
    g, d = mlp(q + K, q), mlp(q + K, 1)
    og, od = (torch.optim.Adam(m.parameters(), 2e-4, betas=(0.5, 0.9)) for m in (g, d))
    t0 = time.time()
    while time.time() - t0 < a.gan_seconds:
        for _ in range(5):
            i = torch.randint(len(Pn), (B,)); x, c = Pn[i], oh[i]
            f = g(torch.cat([torch.randn(B, q), c], 1)).detach()
            u = torch.rand(B, 1); xi = (u * x + (1 - u) * f).requires_grad_(True)
            gr = torch.autograd.grad(d(torch.cat([xi, c], 1)).sum(), xi, create_graph=True)[0]
            loss = d(torch.cat([f, c], 1)).mean() - d(torch.cat([x, c], 1)).mean() + 10 * ((gr.norm(dim=1) - 1) ** 2).mean()
            od.zero_grad(); loss.backward(); od.step()
        c = oh[torch.randint(len(Pn), (B,))]
        lg = -d(torch.cat([g(torch.cat([torch.randn(B, q), c], 1)), c], 1)).mean(); og.zero_grad(); lg.backward(); og.step()
    def sample(c, e):
        with torch.no_grad(): return g(torch.cat([e, c], 1)) * s
    return sample

def generate(G, E, X, Y, n, rng):
    "n volumes with the training priors; with --texture, G's own residual texture (`LatentGenerator.residual`) from the class or pooled spectrum."
    K = G.n_classes; yy = rng.choice(K, n, p=np.bincount(Y, minlength=K) / len(Y))
    if a.texture != 'none':
        acc = ResidualSpectrum(K, X.shape[1:])
        with torch.no_grad():
            for i in range(0, len(X), 256): acc.add(X[i:i+256] - G.decoder(E(X[i:i+256])), Y[i:i+256] if a.texture == 'class' else np.zeros(len(X[i:i+256]), int))
        G.resid_amp.copy_(acc.amplitude())      # pooled: every sample counted as class 0, the empty classes get the pooled spectrum
    with torch.no_grad():
        xs = torch.cat([G(G.make_z(torch.tensor(yy[i:i+256]), torch.tensor(rng.standard_normal((len(yy[i:i+256]), G.z_dim)), dtype=torch.float32)))
                        for i in range(0, n, 256)]).numpy()
    return xs, yy

res = []
for seed in map(int, a.seeds.split(',')):
    t0 = time.time(); run = Path(f'runs/quality/latent_s{seed}'); D = run/'data'
    ck = load_checkpoint(run/'train'/'checkpoint.pt'); spec = dict(ck['model'])
    if a.zdim: spec['z_dim'] = a.zdim
    G, E = build_models(spec)
    G.decoder.load_state_dict({k[len('decoder.'):]: v for k, v in ck['G'].items() if k.startswith('decoder.')}); E.load_state_dict(ck['D'])
    G.eval(); E.eval()
    tr = H5Volumes(D/'train.h5'); X = torch.tensor(tr[np.arange(tr.n)]); Y = tr.regions
    with torch.no_grad(): Z = torch.cat([E(X[i:i+256]) for i in range(0, len(X), 256)])
    rng = np.random.default_rng(seed + 100)
    r = dict(tag=a.tag, seed=seed, variant=a.variant, texture=a.texture, z_dim=G.z_dim)
    if a.leak_split:     # second stage on half the training patients (A); B was seen by the autoencoder only
        up = rng.permutation(np.unique(tr.patients)); inA = np.isin(tr.patients, up[:len(up) // 2])
        second_stage(G, Z[inA], Y[inA], tr.patients[inA]); xs, _ = generate(G, E, X[inA], Y[inA], 2400, rng)
        ho = H5Volumes(D/'holdout.h5'); pick = lambda M, m=600: M[np.sort(rng.choice(len(M), m, replace=False))]
        groups = {'A': pick(X[inA].numpy()), 'B': pick(X[~inA].numpy()), 'holdout': pick(ho[np.arange(ho.n)])}
        for att in ('domias', 'pairwise'):
            s = score_candidates(groups, xs, att, **({'reference': 'holdout'} if att == 'domias' else {}))
            for g in 'AB':
                u = attack_auc(s[g], s['holdout'], n_boot=200); r[f'{att}_{g}'] = [round(u['auc'], 3), [round(c, 3) for c in u['auc_ci']]]
    else:
        second_stage(G, Z, Y, tr.patients); xs, yy = generate(G, E, X, Y, 2400, rng)
        out = Path(f'runs/quality/variants/{a.tag}_s{seed}'); out.mkdir(parents=True, exist_ok=True)
        write_h5(out/'syn.h5', xs, yy, class_names=tr.class_names)
        r.update(evaluate_prototype(D, out/'syn.h5', out/'ev', a.threads))
    r['seconds'] = round(time.time() - t0)
    print(json.dumps(r), flush=True); open('runs/quality/variants.jsonl', 'a').write(json.dumps(r) + '\n')
