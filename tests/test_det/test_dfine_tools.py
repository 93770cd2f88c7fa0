"""Evaluation of a DINO + FDR model through ``tools/test.py`` on BCCD."""
import json
import math
import pickle
from pathlib import Path

import pytest
import torch

from tests.utils import run_tool
from ._dfine_utils import BCCD, build, tiny_cfg

ROOT = Path(__file__).parents[2]


@pytest.mark.skipif(
    not (BCCD / 'coco' / 'val.json').is_file(),
    reason=f'BCCD not found at {BCCD}')
def test_tools_test_coco_metrics(tmp_path, capfd):
    cfg = tiny_cfg(fdr=True, num_queries=30)
    root = str(BCCD.resolve()) + '/'
    cfg.test_dataloader.dataset.data_root = root
    cfg.test_dataloader.dataset.indices = 4
    cfg.test_evaluator.ann_file = root + 'coco/val.json'
    cfg.val_dataloader = cfg.test_dataloader
    cfg.val_evaluator = cfg.test_evaluator
    cfg.train_dataloader.dataset.data_root = root
    config = tmp_path / 'cfg.py'
    cfg.dump(str(config))
    torch.manual_seed(0)
    model = build(cfg)
    ckpt = tmp_path / 'tiny.pth'
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), str(ckpt))
    dump = tmp_path / 'preds.pkl'
    text = run_tool(capfd, ROOT / 'tools' / 'test.py', config, ckpt,
                    '--work-dir', tmp_path / 'work', '--out', dump)
    assert 'coco/bbox_mAP' in text
    logs = list((tmp_path / 'work').rglob('*.json'))
    metrics = [
        json.loads(line) for p in logs for line in p.read_text().splitlines()
        if 'coco/bbox_mAP' in line
    ]
    assert metrics
    logged = {
        k: v
        for k, v in metrics[-1].items() if k.startswith('coco/bbox_')
    }
    # This untrained model scores 0 (no box reaches IoU 0.5), so a check of
    # the metric's value alone cannot tell a right evaluation from a wrong
    # one. The metrics are checked to exist, be finite floats and equal
    # mmdet's CocoMetric of the same predictions; the stronger check is on
    # the predictions: the tool's (dumped by --out) are those the saved
    # weights give here on the same 4 images, in one batch as the tool's.
    assert all(
        isinstance(v, float) and math.isfinite(v) for v in logged.values())
    with open(dump, 'rb') as f:
        dumped = {d['img_id']: d['pred_instances'] for d in pickle.load(f)}
    from mmdet.registry import DATASETS
    from mmengine.dataset import pseudo_collate
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    model.eval()
    with torch.no_grad():
        mine = model.test_step(
            pseudo_collate([dataset[i] for i in range(len(dataset))]))
    assert sorted(dumped) == sorted(s.img_id for s in mine)
    for sample in mine:
        pred = dumped[sample.img_id]
        assert torch.equal(pred['labels'], sample.pred_instances.labels)
        assert torch.allclose(
            pred['scores'], sample.pred_instances.scores, atol=1e-5)
        assert torch.allclose(
            pred['bboxes'], sample.pred_instances.bboxes, atol=1e-3)
    from mmdet.evaluation import CocoMetric
    metric = CocoMetric(ann_file=cfg.test_evaluator.ann_file)
    metric.dataset_meta = dataset.metainfo
    metric.process({}, [s.to_dict() for s in mine])
    expect = metric.evaluate(len(mine))
    assert set(logged) == {k for k in expect if k.startswith('coco/bbox_')}
    for k, v in logged.items():
        assert v == pytest.approx(expect[k], abs=1e-9), k
