"""The independent-draw control of the membership attacks: another seed's training set (other patients of the same
study, which cannot leak) evaluated as if it were a synthetic release, for each seed's phantom of a `make quality`
recipe. Prints and writes <out>/oracle.json (shown in nbs/98_release_quality.ipynb).

    python tools/oracle_draw.py [--out runs/quality] [--recipe moments_factor] [--seeds 0,1,2] [--json runs/quality/oracle.json]
"""
import argparse, json
from pathlib import Path
from pgan.evaluate import evaluate

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--out', default='runs/quality'); ap.add_argument('--recipe', default='moments_factor'); ap.add_argument('--seeds', default='0,1,2')
    ap.add_argument('--json', help='where the results go (default: OUT/oracle.json, which 98_release_quality shows)')
    a = ap.parse_args(); Q, seeds = Path(a.out), [int(s) for s in a.seeds.split(',')]
    res = {}
    for s, o in zip(seeds, seeds[1:] + seeds[:1]):   # each seed's sets against the next seed's training set
        data = Q/f'{a.recipe}_s{s}'/'data'
        M = evaluate(data/'train.h5', data/'holdout.h5', Q/f'{a.recipe}_s{o}'/'data'/'train.h5', data/'external.h5', out=Q/f'oracle_s{s}',
                     spaces=['pixel'], n_boot=300, max_candidates=800, utility=False, log=lambda m: None)
        P = M['privacy']['pixel']
        res[s] = dict(synthetic=f'seed {o} train', attacks={k: [round(v['auc'], 3), [round(c, 3) for c in v['auc_ci']]] for k, v in P.items() if k != 'dcr'},
                      spectral=M['fidelity']['spectral']['max_abs_log_ratio'], exact_copies=M['privacy']['exact_copies'])
        print(s, json.dumps(res[s]), flush=True)
    Path(a.json or Q/'oracle.json').write_text(json.dumps(res, indent=1))
