"""One DistillHealthHook check of a tiny CWD + BPKD Distiller on this
rank's half of a fixed batch (torchrun, gloo), or on the whole batch
without torchrun; the figures are saved as ``health_rank{N}.pth`` in the
folder given. BN and dropout run in eval mode so that a sample's forward
does not depend on the rest of its batch."""
import os
import sys
from pathlib import Path

import torch
import torch.distributed as dist
import torch.nn as nn

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from mmkd.distillers import Distiller  # noqa: E402
from tests.utils import seg_batch, tiny_pspnet  # noqa: E402

out = Path(sys.argv[1])
rank, world = 0, 1
if 'RANK' in os.environ:
    dist.init_process_group('gloo')
    rank, world = dist.get_rank(), dist.get_world_size()
torch.manual_seed(0)
model = Distiller(
    student=dict(model=tiny_pspnet(width=8)),
    teacher=dict(model=tiny_pspnet(width=16), checkpoint=str(out / 't.pth')),
    losses=dict(
        loss_cwd=dict(
            type='mmkd.ChannelWiseDivergence',
            student='decode_head.conv_seg',
            teacher='decode_head.conv_seg',
            loss_weight=5.0),
        loss_bpkd=dict(
            type='mmkd.BPKDLoss',
            student='decode_head.conv_seg',
            teacher='decode_head.conv_seg',
            kernel_size=3,
            # a mean over samples (the default 'global_count' divides by
            # each process's band pixels, see docs/methods/bpkd.md)
            edge_norm='per_class_count')))
model.load_state_dict(torch.load(out / 's.pth'))
model.train()
for module in model.student.modules():
    if isinstance(module,
                  (nn.modules.batchnorm._BatchNorm, nn.Dropout2d, nn.Dropout)):
        module.eval()
batch = seg_batch(batch=4, size=(32, 32))
share = 4 // world
batch = {k: v[rank * share:(rank + 1) * share] for k, v in batch.items()}
data = model.data_preprocessor(batch, True)
model.health_check = 'taps'
model(**data, mode='loss')
torch.save(model.health, out / f'health_rank{rank}.pth')
