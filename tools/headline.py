"""Print a run's headline numbers beside the documented ones (`make demo` calls it).

The documented numbers are tools/documented_demo.json, written by `make quality` (tools/quality.py) for the
default recipe: mean ± sd and range over seeds 0, 1, 2 of the demo profile, with the CPU they ran on (another CPU rounds
differently and gives each seed another release of the recipe: 98_release_quality).

    python tools/headline.py runs/demo
"""
import json, sys
from pathlib import Path
sys.path.insert(0, str(Path(__file__).parent))
from quality import summarise

KEYS = [('ratio_external', 'TSTR/TRTR external'), ('ratio_holdout', 'TSTR/TRTR holdout'), ('classifier_fid', 'classifier FID'),
        ('spectral', 'spectral max |ln ratio|')]

def main(run):
    try: s = summarise(Path(run))
    except (KeyError, OSError) as e:
        print(f"headline: {run} has no complete evaluation with the current metrics ({type(e).__name__}: {e}); "
              f"an evaluation by an older pgan is rerun after rm -rf {run}/eval"); return
    doc_path = Path(__file__).parent/'documented_demo.json'
    doc = json.loads(doc_path.read_text()) if doc_path.exists() else {}
    print(f"headline of {run} (recipe {doc.get('recipe', '?')} documented over seeds {doc.get('seeds', '?')}, make quality on {doc.get('cpu', 'an unrecorded CPU')}; "
          f"on another CPU each seed gives another release of the recipe: compare with the spread, not one seed's value):")
    for k, name in KEYS:
        d = doc.get('metrics', {}).get(k)
        ref = f"documented {d['mean']:.3f} ± {d['sd']:.3f} (range {d['min']:.3f}–{d['max']:.3f})" if d else 'not documented'
        print(f"  {name:26s} {s[k]:8.3f}   {ref}")
    worst = max(s['attacks'].items(), key=lambda kv: kv[1]['ci'][1])
    print(f"  {'pixel attacks':26s} highest CI upper end {worst[1]['ci'][1]:.3f} ({worst[0]} AUC {worst[1]['auc']:.3f}); exact copies {s['exact_copies']}")

if __name__ == '__main__': main(sys.argv[1] if len(sys.argv) > 1 else 'runs/demo')
