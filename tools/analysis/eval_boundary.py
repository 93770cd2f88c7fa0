"""mIoU and boundary IoU of a segmentation model on its test set.

Works for a plain mmseg config and for an mmkd Distiller config (the
student predicts; the teacher checkpoint is not loaded). Boundary IoU: per
class, the pixels within ``--dilation`` px of another valid class, in the
ground truth and in the prediction (``mmkd.evaluation``).

    python tools/analysis/eval_boundary.py CONFIG CHECKPOINT [--dilation 3]
        [--out result.json]
"""
import argparse
import json

import torch
from mmengine.config import Config
from mmengine.registry import MODELS, DefaultScope
from mmengine.runner import Runner, load_checkpoint

import mmkd  # noqa: F401  (registries and the torch.load fix)
from mmkd.distillers import model_config
from mmkd.evaluation import SegBoundaryMetricAccumulator
from mmkd.utils import student_only


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--dilation', type=int, default=3)
    parser.add_argument('--num-classes', type=int, default=None)
    parser.add_argument('--out', help='write the results as JSON here')
    args = parser.parse_args()

    cfg = Config.fromfile(args.config)
    scope = cfg.get('default_scope', 'mmseg')
    student_only(cfg)  # a Distiller predicts with its student
    with DefaultScope.overwrite_default_scope(scope):
        model = MODELS.build(model_config(cfg))
        loader = Runner.build_dataloader(cfg.test_dataloader)
    load_checkpoint(model, args.checkpoint, map_location='cpu')
    model.eval()
    num_classes = args.num_classes or len(loader.dataset.metainfo['classes'])
    acc = SegBoundaryMetricAccumulator(
        num_classes, ignore_index=255, dilation=args.dilation)
    with torch.no_grad():
        for data in loader:
            for out in model.test_step(data):
                acc.update(out.pred_sem_seg.data[0].cpu(),
                           out.gt_sem_seg.data[0].cpu())
    result = dict(
        config=args.config,
        checkpoint=args.checkpoint,
        dilation=args.dilation,
        **acc.results())
    print(json.dumps(result))
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(result, f, indent=1)


if __name__ == '__main__':
    main()
