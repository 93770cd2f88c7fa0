"""Run tools/train.py's runner under torchrun, then save this rank's student
parameters as ``rank{N}.pth`` and the trainable parameters of its
distillation losses as ``rank{N}_losses.pth`` beside the work dir. (BN
running statistics are per rank by design, so they are not compared.)"""
import sys
from pathlib import Path

import torch
import torch.distributed as dist

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / 'tools'))
from train import build_runner, parse_args  # noqa: E402

runner = build_runner(parse_args())
runner.train()
student = runner.model.module.student
out = Path(runner.work_dir).parent
torch.save({k: p.detach()
            for k, p in student.named_parameters()},
           out / f'rank{dist.get_rank()}.pth')
losses = runner.model.module.distill_losses
torch.save({k: p.detach()
            for k, p in losses.named_parameters()},
           out / f'rank{dist.get_rank()}_losses.pth')
