"""A prototype, not in the library: a gain per class and frequency band on the content texture of a trained latent run, so
that the synthetic texture's RMS in each band matches the training residuals' (volume − decoded) of that class.

The texture's SD map is learnt on the decoded training volumes; the decoded *samples* are smoother, so the texture
they get is weaker (thoracic and lumbar: 0.83 of the residuals' RMS in the top bands on seed 0) and the cervical
texture stronger than the cervical residuals (1.35×). Two rounds of 300 samples per class set the gains; then 2,400
volumes are sampled as `pgan run` does (seed 0) and evaluated as `make quality` does (`evaluate_prototype`).
One JSON line per run goes to runs/quality/texture_gain.jsonl (98_release_quality).

    python tools/texture_gain_proto.py SEED kb|kbc     # kb: one gain per (class, band); kbc: per (class, band, slice)
    (RUN=runs/quality/latent_pooled_s0 ... : the run folder, default runs/quality/latent_s<SEED>)
"""
import sys, json, time, torch, numpy as np, h5py, types
sys.path.insert(0,'tools')
from pathlib import Path
from quality import evaluate_prototype
from pgan.generate import LoadedGenerator, generate_h5
from pgan.train import load_checkpoint, build_models
from pgan.models import code_noise
torch.set_num_threads(2)
mode=sys.argv[2]  # 'kb' or 'kbc' or 'full'
import os
s=int(sys.argv[1]); run=Path(os.environ.get('RUN', f'runs/quality/latent_s{s}'))
g=LoadedGenerator(run/'train'/'checkpoint.pt','cpu'); G=g.G; T=G.ctex; K=G.n_classes
ck=load_checkpoint(run/'train'/'checkpoint.pt'); enc=build_models(ck['model'])[1]; enc.load_state_dict(ck['D']); enc.eval()
t0=time.time()
def rms_bands(r, y):  # (n,C,H,W) -> sums of squares per (k,b,c)
    out=torch.zeros(K,T.bands,r.shape[1],dtype=torch.float64); n=torch.zeros(K,dtype=torch.float64)
    rb=T.split(r)
    for k in range(K):
        m=torch.as_tensor(y==k)
        if m.any(): out[k]+=rb[m].double().pow(2).sum((0,3,4)); n[k]+=int(m.sum())
    return out,n
with h5py.File(run/'data'/'train.h5','r') as h: X=torch.tensor(h['images'][:]).float(); y=np.asarray(h['regions'][:]).astype(int)
Sr=torch.zeros(K,T.bands,X.shape[1],dtype=torch.float64); nr=torch.zeros(K,dtype=torch.float64)
with torch.no_grad():
    for i in range(0,len(X),256):
        xb=X[i:i+256]; a,b=rms_bands(xb-G.decoder(enc(xb)),y[i:i+256]); Sr+=a; nr+=b
gain=torch.ones(K,T.bands,X.shape[1])
orig=T.forward
def fwd(self,x,noise,classes=None):
    amp=self.amp if classes is None or not self.n_classes else torch.einsum('nk,kchw->nchw',classes.to(self.class_amp),self.class_amp)
    gn=torch.einsum('nk,kbc->nbc',classes.to(gain),gain)[...,None,None] if classes is not None else 1
    return (self._bands(torch.fft.fftn(noise,dim=(-3,-2,-1))*amp)*self.log_sd(x).exp()*gn).sum(1)
T.forward=types.MethodType(fwd,T)
if mode not in ('kb', 'kbc', 'full'): sys.exit(f'unknown mode {mode!r}: kb, kbc or full')
if mode!='full':
  for it in range(2):
    n=300; yy=np.repeat(np.arange(K),n); gen=torch.Generator().manual_seed(1000+it)
    code=torch.cat([torch.nn.functional.one_hot(torch.as_tensor(yy),K).float(),torch.randn(len(yy),G.z_dim,generator=gen)],1)
    Ss=torch.zeros_like(Sr); ns=torch.zeros_like(nr)
    with torch.no_grad():
        for i in range(0,len(code),150):
            c=code[i:i+150]; xd=G.decoder(G.latents(c)); tx=T(xd,code_noise(c,(G.n_channels,*G.size),stream=4),c[:,:K])
            a,b=rms_bands(tx,yy[i:i+150]); Ss+=a; ns+=b
    ratio=((Sr/nr.view(-1,1,1))/(Ss/ns.view(-1,1,1))).sqrt()
    if mode=='kb': ratio=(((Sr/nr.view(-1,1,1)).sum(2))/((Ss/ns.view(-1,1,1)).sum(2))).sqrt()[:,:,None].expand_as(ratio)
    gain*=ratio.float()
    print('iter',it,'ratio',np.round(ratio.mean(2).numpy(),3).tolist(),flush=True)
out=Path(f'runs/quality/second_stage/gain_{mode}_{run.name}'); out.mkdir(parents=True,exist_ok=True)
generate_h5(g,out/'synthetic.h5',n=2400,seed=0,show_progress=False)
r=dict(run=str(run),variant='gain_'+mode,seed=s,**evaluate_prototype(run/'data',out/'synthetic.h5',out/'eval'),seconds=round(time.time()-t0))
with open('runs/quality/texture_gain.jsonl','a') as f: f.write(json.dumps(r)+'\n')
print(json.dumps(r),flush=True)
