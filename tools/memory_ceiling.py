"""The ceiling of the default recipe's second stage: the same autoencoder and texture, sampling the training latents
themselves (`TrainConfig.memorise`), on the full demo phantom, evaluated as `make demo` evaluates (pixel space,
utility ensembles of 3 classifiers, 10 epochs). Whatever a better sampler of latents achieves through this decoder
and texture, a memoriser of every training latent bounds it; it is also a positive control at demo scale.
About 20 minutes on 2 cores (`make demo` first, for runs/demo/data).

    python tools/memory_ceiling.py [--data runs/demo/data] [--out runs/memory_ceiling]
"""
import argparse, json, sys
from pathlib import Path
sys.path.insert(0, str(Path(__file__).parent))
from quality import summarise
from pgan.config import make_config
from pgan.train import GANTrainer
from pgan.generate import generate_h5
from pgan.evaluate import evaluate

def main(d:Path, run:Path):
    if not (run/'train'/'checkpoint.pt').exists(): GANTrainer(make_config('demo', seed=0, memorise=True), d/'train.h5', out=run/'train').fit()
    syn = generate_h5(run/'train'/'checkpoint.pt', run/'synthetic.h5', n=2400, seed=0, show_progress=False)
    M = evaluate(d/'train.h5', d/'holdout.h5', syn, d/'external.h5', out=run/'eval', max_candidates=800,
                 utility_kwargs=dict(epochs=10, n_models=3), log=lambda s: print(s, flush=True))
    print(json.dumps(summarise(run) | dict(fingerprint=M['privacy'].get('fingerprint')), indent=1))   # `make quality`'s numbers of a run folder

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--data', type=Path, default=Path('runs/demo/data')); p.add_argument('--out', type=Path, default=Path('runs/memory_ceiling'))
    a = p.parse_args(); main(a.data, a.out)
