"""Evaluation of a DINO + FDR model through ``tools/test.py`` on BCCD."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from ._dfine_utils import BCCD, build, tiny_cfg

ROOT = Path(__file__).parents[2]


@pytest.mark.skipif(not (BCCD / 'coco' / 'val.json').is_file(),
                    reason=f'BCCD not found at {BCCD}')
def test_tools_test_coco_metrics(tmp_path):
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
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS='1')
    out = subprocess.run([
        sys.executable, str(ROOT / 'tools' / 'test.py'), str(config),
        str(ckpt), '--work-dir', str(tmp_path / 'work')
    ], cwd=str(ROOT), env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    text = out.stdout + out.stderr
    assert 'coco/bbox_mAP' in text
    logs = list((tmp_path / 'work').rglob('*.json'))
    metrics = [json.loads(line) for p in logs
               for line in p.read_text().splitlines() if 'coco/bbox_mAP' in line]
    assert metrics and 0.0 <= metrics[-1]['coco/bbox_mAP'] <= 1.0
