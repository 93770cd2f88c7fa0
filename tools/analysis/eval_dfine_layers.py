"""Box AP of every decoder layer of a DINO or DINO + FDR detector.

Evaluates, on the config's val set (``--split test`` for the test set) with
the config's evaluator (mmdet's ``CocoMetric`` for the shipped configs), the
boxes of

* ``enc``: the encoder's top-k proposals, scored by the encoder's class
  branch: the boxes the decoder starts from (DINO and DINO + FDR);
* ``pre``: the first layer's plain box head with the first layer's class
  branch (FDR only): the fixed initial boxes every FDR layer refines;
* ``d0`` .. ``d{L-1}``: every decoder layer's boxes with that layer's class
  scores (LQE included where the head uses it); the last one is what the
  model predicts, so its row equals ``tools/test.py``'s metrics.

Each row also gives ``R50`` and ``R75``: the share of GT boxes that some
kept box overlaps at IoU 0.5 / 0.75, whatever its score and class. AP75
falls when boxes are loose or when loose boxes are ranked first; R75 only
in the first case.

All rows come from one forward per batch: the layer rows run the head's own
``predict`` on the outputs of layers ``0..l`` (mmdet's heads predict from
the last layer they are given), the ``enc`` and ``pre`` rows its
``predict_by_feat``; so the post-processing (top-k over queries x classes,
rescaling) is mmdet's for every row.

Example::

    python tools/analysis/eval_dfine_layers.py \\
        configs/dfine/dfine_dino-4scale_r18_1xb4-4e_bccd.py \\
        ~/.cache/mmkd/dfine/dfine_4e_seed0/epoch_4.pth --out layers.json
"""
import argparse
import copy
import json
import os.path as osp
from typing import Dict, List, Optional, Sequence

import torch
from mmengine.config import Config, DictAction

ROWS_HELP = ('enc: encoder top-k proposals; pre: first-layer plain head '
             '(FDR); d<i>: decoder layer i; the last d<i> is the prediction')
KEYS = (('AP', 'bbox_mAP'), ('AP50', 'bbox_mAP_50'), ('AP75', 'bbox_mAP_75'))
#: IoU thresholds of the ranking-free GT recall (``R50``, ``R75``)
RECALL_IOUS = (0.5, 0.75)


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Box AP of every decoder layer of a DINO (+ FDR) model',
        epilog=ROWS_HELP)
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--out', help='write the rows to this JSON file')
    parser.add_argument(
        '--split',
        choices=['val', 'test'],
        default='val',
        help="the config's {split}_dataloader and {split}_evaluator")
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, xxx=yyy format')
    return parser.parse_args(argv)


def _capture_encoder_scores(model) -> tuple:
    """Forward hook on the encoder's class branch (``cls_branches[L]``, as
    ``DINO.pre_decoder`` calls it); returns the handle and the record."""
    record = {}
    branch = model.bbox_head.cls_branches[model.decoder.num_layers]

    def hook(module, inputs, output):
        record['enc_cls'] = output

    return branch.register_forward_hook(hook), record


@torch.no_grad()
def layer_predictions(model, data: dict) -> Dict[str, list]:
    """Predictions (``InstanceData`` per image) of every row for one batch.

    Args:
        model (nn.Module): An mmdet ``DINO`` (or ``mmkd.DINOFDR``), eval mode.
        data (dict): A batch after ``model.data_preprocessor``.

    Returns:
        dict[str, list]: ``enc``, ``pre`` (FDR only), ``d0`` .. ``d{L-1}``.
    """
    samples = data['data_samples']
    metas = [s.metainfo for s in samples]
    head = model.bbox_head
    handle, record = _capture_encoder_scores(model)
    try:
        feats = model.extract_feat(data['inputs'])
        out = model.forward_transformer(feats, samples)
    finally:
        handle.remove()
    hidden, refs = out['hidden_states'], out['references']
    fdr = 'fdr_boxes' in out
    preds = {}
    # DINO.pre_decoder's top-k of the encoder scores; refs[0] holds the
    # sigmoid of the same top-k boxes (the decoder's initial reference)
    enc_cls = record['enc_cls']
    topk = enc_cls.max(-1)[0].topk(model.num_queries, dim=1)[1]
    enc_score = enc_cls.gather(
        1, topk[..., None].expand(-1, -1, enc_cls.shape[-1]))
    preds['enc'] = head.predict_by_feat(
        enc_score[None], refs[0][None], batch_img_metas=metas, rescale=True)
    if fdr:
        # the pre head's score is the first class branch without LQE, as in
        # the `pre_` losses
        pre_cls = head.cls_branches[0](hidden[0])
        preds['pre'] = head.predict_by_feat(
            pre_cls[None],
            out['pre_boxes'][None],
            batch_img_metas=metas,
            rescale=True)
    for lid in range(hidden.shape[0]):
        extra = dict(
            fdr_logits=out['fdr_logits'][:lid + 1],
            fdr_boxes=out['fdr_boxes'][:lid + 1]) if fdr else {}
        preds[f'd{lid}'] = head.predict(
            hidden[:lid + 1], refs[:lid + 2], samples, rescale=True, **extra)
    return preds


def build(cfg: Config, checkpoint: str, split: str):
    """The model (checkpoint loaded strictly, eval mode) and the dataloader
    and evaluators' config of ``split``."""
    from mmdet.models.detectors import DINO
    from mmengine.registry import MODELS, init_default_scope
    from mmengine.runner import Runner, load_checkpoint

    import mmkd  # noqa: F401  (registers mmkd, allow-lists checkpoints)
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    # mmdet's DETRs write into the bbox_head dict they are built from
    model = MODELS.build(copy.deepcopy(cfg.model))
    if not isinstance(model, DINO):
        raise TypeError('eval_dfine_layers needs an mmdet DINO or '
                        f'mmkd.DINOFDR model, but got {type(model).__name__}')
    load_checkpoint(model, checkpoint, map_location='cpu', strict=True)
    model.eval()
    loader_cfg = cfg.get(f'{split}_dataloader')
    evaluator_cfg = cfg.get(f'{split}_evaluator')
    if loader_cfg is None or evaluator_cfg is None:
        raise KeyError(f'the config should define {split}_dataloader and '
                       f'{split}_evaluator, but one is missing; choose '
                       'another --split')
    return model, Runner.build_dataloader(loader_cfg), evaluator_cfg


def evaluate_layers(cfg: Config,
                    checkpoint: str,
                    split: str = 'val') -> List[dict]:
    """One row per output: ``dict(output=..., AP=..., AP50=..., AP75=...,
    metrics={every metric of the evaluator})``, in the order enc, pre,
    d0 .. d{L-1}."""
    from mmengine.evaluator import Evaluator

    model, loader, evaluator_cfg = build(cfg, checkpoint, split)
    evaluators, recalls = {}, {}
    original = _original_gt(loader.dataset)
    for data_batch in loader:
        data = model.data_preprocessor(data_batch, False)
        gts = [original[s.img_id] for s in data['data_samples']]
        for name, results in layer_predictions(model, data).items():
            if name not in evaluators:
                evaluators[name] = Evaluator(evaluator_cfg)
                evaluators[name].dataset_meta = loader.dataset.metainfo
                recalls[name] = [[0, 0] for _ in RECALL_IOUS]
            for total, count in zip(recalls[name], _gt_recall(gts, results)):
                total[0] += count[0]
                total[1] += count[1]
            samples = model.add_pred_to_datasample(data['data_samples'],
                                                   results)
            evaluators[name].process(data_samples=samples)
    rows = []
    for name, evaluator in evaluators.items():
        metrics = evaluator.evaluate(len(loader.dataset))
        row = dict(output=name)
        for short, key in KEYS:
            found = [v for k, v in metrics.items() if k.endswith('/' + key)]
            if len(found) != 1:
                raise KeyError(f'the {split}_evaluator should report one '
                               f'{key!r} (mmdet CocoMetric), but got '
                               f'{sorted(metrics)}')
            row[short] = found[0]
        for t, (hit, total) in zip(RECALL_IOUS, recalls[name]):
            row[f'R{int(t * 100)}'] = hit / max(total, 1)
        row['metrics'] = metrics
        rows.append(row)
    return rows


def _original_gt(dataset) -> Dict[object, torch.Tensor]:
    """GT boxes (x1, y1, x2, y2) of every image in original coordinates,
    by ``img_id``, from the dataset's annotations (as ``CocoMetric`` reads
    them), ignored instances left out."""
    boxes = {}
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        kept = [
            inst['bbox'] for inst in info['instances']
            if not inst.get('ignore_flag', 0)
        ]
        boxes[info['img_id']] = torch.tensor(
            kept, dtype=torch.float32).reshape(-1, 4)
    return boxes


def _gt_recall(gts: Sequence[torch.Tensor],
               results,
               thresholds=RECALL_IOUS) -> List[list]:
    """Per threshold ``[hit, total]``: how many GT boxes some kept box (any
    score, any class) overlaps at IoU >= t, out of how many. Independent of
    how the boxes are ranked, so it separates loose boxes from a ranking
    that puts loose boxes first. ``gts`` and the results' boxes are in
    original image coordinates."""
    from mmdet.structures.bbox import bbox_overlaps
    counts = [[0, 0] for _ in thresholds]
    for gt, result in zip(gts, results):
        if len(gt) == 0:
            continue
        pred = result.bboxes.float()
        best = bbox_overlaps(gt, pred).amax(1) if len(pred) else \
            gt.new_zeros(len(gt))
        for count, t in zip(counts, thresholds):
            count[0] += int((best >= t).sum())
            count[1] += len(gt)
    return counts


def format_rows(rows: List[dict]) -> List[str]:
    """A plain-text table of the rows (AP in percent, as mmdet logs 0-1)."""
    keys = ('AP', 'AP50', 'AP75', 'R50', 'R75')
    lines = [f"{'output':<8}" + ''.join(f'{k:>7}' for k in keys)]
    for i, row in enumerate(rows):
        mark = "  <- the model's prediction" if i == len(rows) - 1 else ''
        lines.append(f"{row['output']:<8}" + ''.join(f'{100 * row[k]:7.1f}'
                                                     for k in keys) + mark)
    lines.append('R50 / R75: share of GT boxes that some kept box overlaps at '
                 'IoU 0.5 / 0.75, whatever its score (ranking-free)')
    return lines


def main(argv: Optional[Sequence[str]] = None) -> List[dict]:
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    rows = evaluate_layers(cfg, args.checkpoint, args.split)
    print('\n'.join(format_rows(rows)))
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(
                dict(
                    config=osp.abspath(args.config),
                    checkpoint=osp.abspath(args.checkpoint),
                    split=args.split,
                    rows=rows),
                f,
                indent=1)
        print(f'saved {args.out}')
    return rows


if __name__ == '__main__':
    main()
