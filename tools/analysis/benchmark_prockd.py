"""Peak memory and time of ProC-KD's prototype part, forward + backward:
NetVLAD residuals by the identity ``V = A X - (A 1) C`` vs the literal
``[B, K, D, N]`` residual tensor of the official code.

Default size: RetinaNet's P3 at 800 x 1216 (100 x 152 = 15,200 tokens), one
image, K = 72, D = 256, a Swin-B-like teacher (stages 2-4: 256, 512, 1024
channels at strides 8, 16, 32, resampled to the P3 grid), fp32.

    OMP_NUM_THREADS=2 python tools/analysis/benchmark_prockd.py
    python tools/analysis/benchmark_prockd.py --forms identity --size 200 304
    python tools/analysis/benchmark_prockd.py --sweep 4 --plot out.png

``--sweep S`` measures S grid sizes from 1/8 of ``--size`` (each side) up
to ``--size`` and ``--plot`` draws the live peak against the token count.

The step is the loss's own computation (teacher tokens on the student grid,
PLM, TAFA, and ``TAFA(F_S)`` as for ``transfer='feat_mse'``), ended by a
scalar of ``Y'`` standing in for the student head's loss, which is the same
for both forms. Memory: the peak of live storages created by aten ops during
the step (``mmkd.utils.memory.LiveTensorBytes``: forward and backward; kernel
scratch buffers are not seen). Time: median over ``--repeats`` steps after a
warm-up, outside the dispatch mode.
"""
import argparse
import json
import statistics
import time
from unittest import mock

import torch

import mmkd.losses.prockd_modules as modules
from mmkd.losses import ProCKDLoss
from mmkd.ops import maps_to_tokens, tokens_to_maps, vlad_residuals_literal
from mmkd.utils.memory import LiveTensorBytes

TEACHER = ((256, 8), (512, 16), (1024, 32))  # (channels, stride / P3's 8)


def build(args):
    torch.manual_seed(0)
    loss = ProCKDLoss(
        args.dim, [c for c, _ in TEACHER],
        num_prototypes=args.prototypes,
        transfer='feat_mse')
    h, w = args.size
    teacher = [
        torch.randn(1, c, -(-h * 8 // s), -(-w * 8 // s)) for c, s in TEACHER
    ]
    student = torch.randn(1, args.dim, h, w, requires_grad=True)
    return loss, student, teacher


def step(loss, student, teacher):
    grid = student.shape[-2:]
    tokens = loss._teacher_tokens(teacher, grid)
    z, _ = loss.plm(tokens, loss.tafa.prototypes)
    augmented = tokens_to_maps(loss.tafa(z)[0], grid)
    own = tokens_to_maps(loss.tafa(maps_to_tokens(student))[0], grid)
    ((own - augmented.detach())**2).mean().add(augmented.mean()).backward()
    student.grad = None
    loss.zero_grad(set_to_none=True)


def measure(args, form: str) -> dict:
    loss, student, teacher = build(args)
    patch = mock.patch.object(modules, 'vlad_residuals',
                              vlad_residuals_literal) if form == 'literal' \
        else mock.patch.object(modules, 'vlad_residuals',
                               modules.vlad_residuals)
    with patch:
        step(loss, student, teacher)  # warm-up
        with LiveTensorBytes() as mode:
            step(loss, student, teacher)
        times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            step(loss, student, teacher)
            times.append(time.perf_counter() - start)
    n = args.size[0] * args.size[1]
    return dict(
        form=form,
        tokens=n,
        prototypes=args.prototypes,
        dim=args.dim,
        bkdn_tensor_mib=round(args.prototypes * args.dim * n * 4 / 2**20, 1),
        live_peak_mib=round(mode.peak / 2**20, 1),
        time_s_median=round(statistics.median(times), 3),
        threads=torch.get_num_threads())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--size', type=int, nargs=2, default=(100, 152), metavar=('H', 'W'))
    parser.add_argument('--dim', type=int, default=256)
    parser.add_argument('--prototypes', type=int, default=72)
    parser.add_argument(
        '--forms',
        nargs='+',
        default=['identity', 'literal'],
        choices=['identity', 'literal'])
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--sweep', type=int, default=1)
    parser.add_argument('--plot', help='write a figure (PNG) here')
    args = parser.parse_args()
    h, w = args.size
    sizes = [(max(1, round(h * f)), max(1, round(w * f)))
             for f in torch.linspace(1 / 8, 1, args.sweep).tolist()
             ] if args.sweep > 1 else [(h, w)]
    rows = []
    for size in sizes:
        for form in args.forms:
            rows.append(
                measure(
                    argparse.Namespace(**{
                        **vars(args), 'size': size
                    }), form))
            print(json.dumps(rows[-1]), flush=True)
    if args.plot:
        plot(rows, args.plot)


def plot(rows, path: str) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(5, 3.4))
    for form, label in (('identity', 'V = A X - (A 1) C'),
                        ('literal', 'literal [B, K, D, N]')):
        pts = [(r['tokens'], r['live_peak_mib']) for r in rows
               if r['form'] == form]
        if pts:
            ax.plot(*zip(*pts), marker='o', label=label)
    ax.set_xlabel('tokens N (one image)')
    ax.set_ylabel('peak live tensors, MiB (fwd + bwd)')
    r = rows[0]
    ax.set_title(
        f'ProC-KD PLM + TAFA, K = {r["prototypes"]}, '
        f'D = {r["dim"]}, fp32',
        fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


if __name__ == '__main__':
    main()
