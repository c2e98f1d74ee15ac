"""The ceiling of the default recipe's second stage: the same autoencoder and texture, sampling the training latents
themselves (`TrainConfig.memorise`), on the full demo phantom, evaluated as `make demo` evaluates (pixel space,
utility ensembles of 3 classifiers, 10 epochs). Whatever a better sampler of latents achieves through this decoder
and texture, a memoriser of every training latent bounds it; it is also a positive control at demo scale.
About 20 minutes on 2 cores (`make demo` first, for runs/demo/data).

    python tools/memory_ceiling.py [--data runs/demo/data] [--out runs/memory_ceiling]
"""
import argparse, json
from pathlib import Path
from pgan.train import GANTrainer, make_config
from pgan.generate import generate_h5
from pgan.evaluate import evaluate

def main(d:Path, run:Path):
    if not (run/'checkpoint.pt').exists(): GANTrainer(make_config('demo', seed=0, memorise=True), d/'train.h5', out=run).fit()
    syn = generate_h5(run/'checkpoint.pt', run/'synthetic.h5', n=2400, seed=0, show_progress=False)
    M = evaluate(d/'train.h5', d/'holdout.h5', syn, d/'external.h5', out=run/'eval', max_candidates=800,
                 utility_kwargs=dict(epochs=10, n_models=3), log=lambda s: print(s, flush=True))
    U, F = M['utility'], M['fidelity']
    print(json.dumps(dict(tstr_trtr_external=U['tstr']['external']['balanced_accuracy'] / U['trtr']['external']['balanced_accuracy'],
                          recall_external=U['tstr']['external']['per_class_recall'], classifier_fid=F['classifier']['fid'],
                          spectral=F['spectral']['max_abs_log_ratio'], fingerprint=M['privacy'].get('fingerprint'),
                          attacks={a: [r['auc'], r['auc_ci']] for a, r in M['privacy']['pixel'].items() if 'auc' in r}), indent=1))

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--data', type=Path, default=Path('runs/demo/data')); p.add_argument('--out', type=Path, default=Path('runs/memory_ceiling'))
    a = p.parse_args(); main(a.data, a.out)
