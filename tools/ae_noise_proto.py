"""Noise on the latent maps while the autoencoder trains (prototype, not the library): `pgan run` with the latent arch's
autoencoder step replaced by one that decodes E(x) + σ · (each latent channel's batch SD) · N(0, 1).

A decoder that has learnt to decode codes a little off the training encodings should decode the second stage's
samples, which lie off them, to something nearer a real volume (the decoder regularisation of Ghosh et al. 2020,
"From variational to deterministic autoencoders", and the noise of a VAE). Everything else is `pgan run`'s; the
arguments after σ are passed to it.

    python tools/ae_noise_proto.py 0.3 run --profile demo --seed 0 --spaces pixel --out runs/quality/latent_nae03_s0 --cache-dir runs/quality/.cache --arch latent
"""
import sys, torch
from pgan.train import GANTrainer

def noisy_ae_step(sigma:float):
    "An `ae_step` that adds noise of `sigma` × each latent channel's batch SD (not differentiated) to the codes before decoding."
    def ae_step(self, x):
        if self.fast_layout: x = x.contiguous(memory_format=torch.channels_last)
        z = self.D(x); z = z + sigma * z.detach().std((0, 2, 3), keepdim=True) * torch.randn_like(z)
        loss = (self.G.decoder(z) - x).abs().mean()
        self.opt_g.zero_grad(set_to_none=True); loss.backward(); self._sync_grads(self.D); self._sync_grads(self.G.decoder); self.opt_g.step()
        return dict(loss_ae=loss.item())
    return ae_step

if __name__ == '__main__':
    GANTrainer.ae_step = noisy_ae_step(float(sys.argv[1]))
    from pgan.cli import main
    sys.exit(main(sys.argv[2:]))
