"""Prototype: sharpen the latent recipe's decoder adversarially (patch discriminator, hinge loss) on the
`make quality` checkpoints, then generate 2,400 volumes and evaluate them as `make quality` does.

The encoder and the class Gaussians stay fixed (fitted on the training latents, decoded means: the 'latent'
recipe's second stage); the decoder is fine-tuned for --seconds on L1 reconstruction of real batches plus
--lam × the hinge generator loss on decoded samples of the class Gaussians (and on reconstructions with --on-recon).

    python tools/sharpen_proto.py --tag sharp --seconds 120
"""
import argparse, json, time, numpy as np, torch
from pathlib import Path
from torch import nn
from torch.nn.utils import spectral_norm as SN
from pgan.train import load_checkpoint, build_models
from pgan.models import fit_latent_gaussians
from pgan.data import H5Volumes, write_h5
import sys; sys.path.insert(0, str(Path(__file__).parent)); from quality import evaluate_prototype

ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
ap.add_argument('--seeds', default='0,1,2'); ap.add_argument('--tag', required=True)
ap.add_argument('--seconds', type=float, default=120); ap.add_argument('--lam', type=float, default=0.1)
ap.add_argument('--width', type=int, default=32); ap.add_argument('--batch', type=int, default=32)
ap.add_argument('--lr', type=float, default=2e-4); ap.add_argument('--on-recon', action='store_true')
ap.add_argument('--cond', action='store_true', help='projection-conditioned D (class embedding)')
ap.add_argument('--ckpt', default='checkpoint.pt'); ap.add_argument('--threads', type=int, default=2)
ap.add_argument('--no-eval', action='store_true')
a = ap.parse_args(); torch.set_num_threads(a.threads)

class PatchD(nn.Module):
    def __init__(self, C, K, w):
        super().__init__()
        self.f = nn.Sequential(SN(nn.Conv2d(C, w, 4, 2, 1)), nn.LeakyReLU(0.2), SN(nn.Conv2d(w, 2 * w, 4, 2, 1)), nn.LeakyReLU(0.2),
                               SN(nn.Conv2d(2 * w, 4 * w, 4, 2, 1)), nn.LeakyReLU(0.2))
        self.out = SN(nn.Conv2d(4 * w, 1, 3, 1, 1)); self.emb = SN(nn.Embedding(K, 4 * w)) if a.cond else None
    def forward(self, x, y):
        h = self.f(x); o = self.out(h)
        if self.emb is not None: o = o + (h * self.emb(y)[:, :, None, None]).sum(1, keepdim=True)
        return o

res = []
for seed in map(int, a.seeds.split(',')):
    t0 = time.time(); run = Path(f'runs/quality/latent_s{seed}'); D_ = run/'data'
    ck = load_checkpoint(run/'train'/a.ckpt); G, E = build_models(ck['model'])
    G.decoder.load_state_dict({k[len('decoder.'):]: v for k, v in ck['G'].items() if k.startswith('decoder.')}); E.load_state_dict(ck['D'])
    E.eval(); E.requires_grad_(False)
    tr = H5Volumes(D_/'train.h5'); X = torch.tensor(tr[np.arange(tr.n)]); Y = torch.as_tensor(tr.regions).long()
    with torch.no_grad(): Z = torch.cat([E(X[i:i+256]) for i in range(0, len(X), 256)])
    fit_latent_gaussians(G, Z, Y.numpy()); G.latent_sd.zero_()
    torch.manual_seed(seed); K = G.n_classes
    D = PatchD(X.shape[1], K, a.width)
    og = torch.optim.Adam(G.decoder.parameters(), a.lr, betas=(0.5, 0.9)); od = torch.optim.Adam(D.parameters(), a.lr, betas=(0.5, 0.9))
    prior = torch.bincount(Y, minlength=K).float()
    t1, steps, log = time.time(), 0, []
    G.decoder.train()
    while time.time() - t1 < a.seconds:
        i = torch.randint(len(X), (a.batch,)); x, y, z = X[i], Y[i], Z[i]
        yf = torch.multinomial(prior, a.batch, replacement=True)
        fake = G(G.make_z(yf))
        rec = G.decoder(z)
        fk, fy = (torch.cat([fake, rec]), torch.cat([yf, y])) if a.on_recon else (fake, yf)
        ld = torch.relu(1 - D(x, y)).mean() + torch.relu(1 + D(fk.detach(), fy)).mean()
        od.zero_grad(); ld.backward(); od.step()
        D.requires_grad_(False)
        lg = -D(fk, fy).mean(); l1 = (rec - x).abs().mean()
        og.zero_grad(); (l1 + a.lam * lg).backward(); og.step(); D.requires_grad_(True)
        steps += 1
        if steps % 50 == 0: log.append((steps, round(ld.item(), 3), round(lg.item(), 3), round(l1.item(), 4)))
    G.decoder.eval()
    print(f'seed {seed}: {steps} steps ({steps * a.batch / len(X):.1f} epochs) in {time.time() - t1:.0f} s; last (step, ld, lg, l1):', log[-3:], flush=True)
    rng = np.random.default_rng(seed + 100); n = 2400
    yy = rng.choice(K, n, p=(prior / prior.sum()).numpy())
    with torch.no_grad():
        xs = torch.cat([G(G.make_z(torch.tensor(yy[j:j+256]), torch.tensor(rng.standard_normal((len(yy[j:j+256]), G.z_dim)), dtype=torch.float32)))
                        for j in range(0, n, 256)]).numpy()
    out = Path(f'runs/quality/variants/{a.tag}_s{seed}'); out.mkdir(parents=True, exist_ok=True)
    write_h5(out/'syn.h5', xs, yy, class_names=tr.class_names)
    torch.save(G.decoder.state_dict(), out/'decoder.pt')
    r = dict(tag=a.tag, seed=seed, steps=steps, lam=a.lam, seconds_train=a.seconds)
    if not a.no_eval:
        r.update(evaluate_prototype(D_, out/'syn.h5', out/'ev', a.threads))
    r['seconds'] = round(time.time() - t0)
    print(json.dumps(r), flush=True); open('runs/quality/variants.jsonl', 'a').write(json.dumps(r) + '\n')
