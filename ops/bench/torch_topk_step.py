"""The TopK peer on this CPU, beside ../shared/bench/torch_sae_step.py (ReLU + L1): a SAELens-style TopK SAE
training step in PyTorch with autograd (k largest pre-activations per token through a ReLU, scattered into a dense
[B, n] matrix and decoded densely, as SAELens' TopK activation does; MSE loss, Adam, decoder rows renormalised;
no AuxK). Run: /usr/bin/python3 ops/bench/torch_topk_step.py [B d n k steps]"""
import os, sys, time
import torch

torch.set_num_threads(int(os.environ.get("THREADS", "2")))
B, d, n, k, steps = (int(x) for x in (sys.argv[1:6] if len(sys.argv) >= 6 else (4096, 512, 4096, 32, 12)))

W_enc = torch.nn.Parameter(torch.randn(d, n) / d ** 0.5); b_enc = torch.nn.Parameter(torch.zeros(n))
W_dec = torch.nn.Parameter(W_enc.detach().t().clone()); b_dec = torch.nn.Parameter(torch.zeros(d))
opt = torch.optim.Adam([W_enc, b_enc, W_dec, b_dec], lr=4e-4)
x = torch.randn(B, d)

def step():
    pre = (x - b_dec) @ W_enc + b_enc
    top = torch.topk(pre, k, dim=-1)
    f = torch.zeros_like(pre).scatter(-1, top.indices, torch.relu(top.values))
    xh = f @ W_dec + b_dec
    loss = (xh - x).pow(2).sum(-1).mean()
    opt.zero_grad(set_to_none=True); loss.backward(); opt.step()
    with torch.no_grad():
        W_dec.div_(W_dec.norm(dim=1, keepdim=True))

for _ in range(2): step()
t = time.perf_counter()
for _ in range(steps): step()
dt = (time.perf_counter() - t) / steps
print(f"torch {torch.__version__}, {torch.get_num_threads()} threads: TopK SAE step B={B} d={d} n={n} k={k}: "
      f"{B / dt:,.0f} tokens/s")
