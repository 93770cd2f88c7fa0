"""Where FGL's edge targets fall in an FDR head's bins (D-FINE lead 1).

Every FDR layer refines the fixed first-layer box ``ref0`` by at most
``W(N) = 2aR`` code units per edge (one initial-box size for the default
``a = 0.5``); FGL's two-hot target of an edge whose ground-truth offset is
beyond that is the end bin. This runs the detector's training loss (no
optimizer step) on batches of the config's train set and reports, over the
edges of the matched queries (the queries FGL trains, union set or own
match), the share whose target offset is out of range, the share within
the finest central bins, and the quantiles of ``|offset|`` in initial-box
sizes.

    python tools/analysis/dfine_edge_targets.py CONFIG [CHECKPOINT]
        [--batches 20] [--out edges.json]

Without CHECKPOINT the model is as initialised (the start of training).
Only the matching queries count (denoising queries start from noised ground
truth, so their offsets are small by construction).
"""
import argparse
import copy
import json
from typing import Dict, List, Optional, Sequence

import torch

QUANTILES = (0.5, 0.9, 0.99)


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Where FGL's edge targets fall in an FDR head's bins")
    parser.add_argument('config')
    parser.add_argument(
        'checkpoint', nargs='?', help='omit for the initialised model')
    parser.add_argument(
        '--batches', type=int, default=20, help='training batches to run')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--out', help='write the summary to this JSON file')
    return parser.parse_args(argv)


class EdgeTargetRecorder:
    """Wraps the head's ``_fgl_targets``: keeps the offsets (code units) of
    the assigned matching queries of every call."""

    def __init__(self, head) -> None:
        from mmkd.det import bbox2distance
        self.head = head
        self.offsets: List[torch.Tensor] = []
        self.denoising = False
        fgl_targets, loss = head._fgl_targets, head.loss
        dn_assignment = getattr(head, '_dn_assignment', None)

        def record(ref0, assign, gt):
            if not self.denoising:
                gt_boxes, _ = gt.at(assign)
                d = bbox2distance(ref0.float(), gt_boxes, head.reg_scale)
                self.offsets.append(d[assign >= 0].reshape(-1).cpu())
            return fgl_targets(ref0, assign, gt)

        def start(*args, **kwargs):  # each loss: matching part first
            self.denoising = False
            return loss(*args, **kwargs)

        def denoising(*args, **kwargs):  # then DINO's denoising part
            self.denoising = True
            return dn_assignment(*args, **kwargs)

        head._fgl_targets, head.loss = record, start
        if dn_assignment is not None:
            head._dn_assignment = denoising

    def summary(self) -> Dict[str, float]:
        project = self.head.project.float().cpu()
        d = torch.cat(self.offsets) if self.offsets else torch.zeros(0)
        if d.numel() == 0:
            raise RuntimeError('no matched query was recorded: does the '
                               'train set have boxes?')
        limit = float(project[-1])  # W(N) = 2aR
        n = project.numel() - 1
        # the two bins either side of 0 are the finest steps
        fine = float(project[n // 2 + 1])
        box = d.abs() / self.head.reg_scale  # initial-box sizes
        out = dict(
            edges=int(d.numel()),
            out_of_range=float((d.abs() >= limit).float().mean()),
            within_finest_bin=float((d.abs() < fine).float().mean()),
            range_box_sizes=limit / self.head.reg_scale)
        for q in QUANTILES:
            out[f'abs_offset_q{int(q * 100)}'] = float(torch.quantile(box, q))
        return out


def edge_targets(cfg, checkpoint: Optional[str], batches: int,
                 seed: int) -> Dict[str, float]:
    from mmengine.registry import MODELS, init_default_scope
    from mmengine.runner import Runner, load_checkpoint

    import mmkd  # noqa: F401  (registers mmkd, allow-lists checkpoints)
    from mmkd.det.fdr_head import FDRHeadMixin
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    torch.manual_seed(seed)
    model = MODELS.build(copy.deepcopy(cfg.model))
    if not isinstance(getattr(model, 'bbox_head', None), FDRHeadMixin):
        raise TypeError('dfine_edge_targets needs a detector with an mmkd '
                        'FDR head (e.g. mmkd.DINOFDR), but got '
                        f'{type(model).__name__}')
    model.init_weights()
    if checkpoint:
        load_checkpoint(model, checkpoint, map_location='cpu', strict=True)
    model.train()
    recorder = EdgeTargetRecorder(model.bbox_head)
    loader_cfg = copy.deepcopy(cfg.train_dataloader)
    loader_cfg.update(num_workers=0, persistent_workers=False)
    loader = Runner.build_dataloader(loader_cfg, seed=seed)
    with torch.no_grad():
        for i, data_batch in enumerate(loader):
            if i == batches:
                break
            model(**model.data_preprocessor(data_batch, True), mode='loss')
    return recorder.summary()


def main(argv: Optional[Sequence[str]] = None) -> Dict[str, float]:
    from mmengine.config import Config
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    summary = edge_targets(cfg, args.checkpoint, args.batches, args.seed)
    print(f"{summary['edges']} edges of matched queries over {args.batches} "
          f"batches: {100 * summary['out_of_range']:.1f} % out of range "
          f"(|offset| >= {summary['range_box_sizes']:.2f} initial-box sizes),"
          f" {100 * summary['within_finest_bin']:.1f} % within the finest "
          'bin either side of 0; |offset| quantiles (box sizes): ' + ', '.join(
              f"q{int(q * 100)} {summary[f'abs_offset_q{int(q * 100)}']:.3f}"
              for q in QUANTILES))
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(
                dict(
                    config=args.config,
                    checkpoint=args.checkpoint,
                    batches=args.batches,
                    **summary),
                f,
                indent=1)
        print(f'saved {args.out}')
    return summary


if __name__ == '__main__':
    main()
