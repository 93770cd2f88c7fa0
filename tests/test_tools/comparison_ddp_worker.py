"""Run tools/train.py's runner under torchrun on a comparison config, then
save this rank's trainable parameters of every arm (students and loss parts)
as ``rank{N}.pth`` beside the work dir."""
import sys
from pathlib import Path

import torch
import torch.distributed as dist

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / 'tools'))
from train import build_runner, parse_args  # noqa: E402

runner = build_runner(parse_args())
runner.train()
comparison = runner.model.module
torch.save(
    {
        f'{name}.{key}': param.detach()
        for name, arm in comparison.arms.items()
        for key, param in arm.named_parameters() if param.requires_grad
    },
    Path(runner.work_dir).parent / f'rank{dist.get_rank()}.pth')
