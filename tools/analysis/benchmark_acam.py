"""Peak memory and time of one ACAM-KD level, forward + backward: exact
attention through SDPA vs the naive ``softmax(q k^T) v``.

Default size: RetinaNet's P3 at 800 x 1216 (100 x 152 = 15,200 tokens),
C = 256 for teacher and student, C_q = 128, M = 6, one image, fp32.

    OMP_NUM_THREADS=2 python tools/analysis/benchmark_acam.py
    python tools/analysis/benchmark_acam.py --paths sdpa --size 200 336

Memory is measured two ways (torch's CPU allocations are invisible to
``tracemalloc``):

* ``live``: a ``TorchDispatchMode`` counts every storage an aten op creates
  during the step until its last tensor is freed (forward and backward) and
  reports the peak of that sum. Kernel scratch buffers are not seen; the
  N x N matrix of the naive path or of SDPA's math fallback is.
* ``rss``: in a fresh process holding only the built loss and its inputs,
  the rise of the peak resident set (``VmHWM``, reset through
  ``/proc/self/clear_refs`` just before the step) over the resident set
  before it. Includes scratch buffers and the allocator.

Time: median over ``--repeats`` steps after one warm-up, in the same
process as ``live`` but outside the dispatch mode.
"""
import argparse
import json
import os.path as osp
import statistics
import subprocess
import sys
import time

import torch

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from benchmark_bpkd_mask import _status_kb  # noqa: E402

from mmkd.losses import ACAMKDLoss  # noqa: E402
from mmkd.ops import attention_memory_bytes  # noqa: E402
from mmkd.utils.memory import LiveTensorBytes  # noqa: E402


def build(args, path):
    torch.manual_seed(0)
    loss = ACAMKDLoss(
        args.channels,
        args.channels,
        num_masks=args.masks,
        use_sdpa=path == 'sdpa',
        attention_budget_gib=1e3)
    h, w = args.size
    student = torch.randn(1, args.channels, h, w, requires_grad=True)
    teacher = torch.randn(1, args.channels, h, w)
    return loss, student, teacher


def step(loss, student, teacher):
    out = loss(student, teacher)
    (out['loss_distill'] + out['loss_div']).backward()
    student.grad = None
    loss.zero_grad(set_to_none=True)


def rss_child(args) -> None:
    """Print the peak-RSS rise of one step (run in a fresh process)."""
    loss, student, teacher = build(args, args.child)
    with open('/proc/self/clear_refs', 'w') as f:
        f.write('5')
    before = _status_kb('VmRSS')
    step(loss, student, teacher)
    after = _status_kb('VmHWM')
    print(json.dumps(dict(rss_rise_mib=round((after - before) / 1024, 1))))


def measure(args, path) -> dict:
    loss, student, teacher = build(args, path)
    inputs_mib = 2 * student.numel() * 4 / 2**20
    step(loss, student, teacher)  # warm-up (lazy init, thread pools)
    with LiveTensorBytes() as mode:
        step(loss, student, teacher)
    times = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        step(loss, student, teacher)
        times.append(time.perf_counter() - start)
    cmd = [
        sys.executable, __file__, '--child', path, '--size',
        *map(str, args.size), '--channels',
        str(args.channels), '--masks',
        str(args.masks)
    ]
    rss = json.loads(subprocess.check_output(cmd).decode().splitlines()[-1])
    n = args.size[0] * args.size[1]
    c_q = args.channels // 2
    width = args.channels if path == 'sdpa' else c_q
    estimate = attention_memory_bytes(n, n, width, args.channels, 4, path
                                      == 'naive') / 2**20
    return dict(
        path=path,
        tokens=n,
        inputs_mib=round(inputs_mib, 1),
        live_peak_mib=round(mode.peak / 2**20, 1),
        rss_rise_mib=rss['rss_rise_mib'],
        estimate_mib=round(estimate, 1),
        time_s_median=round(statistics.median(times), 3),
        time_s_min=round(min(times), 3),
        threads=torch.get_num_threads())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--size', type=int, nargs=2, default=(100, 152), metavar=('H', 'W'))
    parser.add_argument('--channels', type=int, default=256)
    parser.add_argument('--masks', type=int, default=6)
    parser.add_argument(
        '--paths',
        nargs='+',
        default=['sdpa', 'naive'],
        choices=['sdpa', 'naive'])
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument(
        '--child', choices=['sdpa', 'naive'], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        rss_child(args)
        return
    for path in args.paths:
        print(json.dumps(measure(args, path)), flush=True)


if __name__ == '__main__':
    main()
