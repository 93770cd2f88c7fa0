"""tools/analysis/eval_dfine_layers.py: box AP of every decoder layer.

An untrained model scores 0 AP on BCCD's own boxes, where a wrong row
would score 0 as well. So the ground truth of the 4 real BCCD images is
replaced by the model's own 20 best final detections: the last
layer then scores AP 1.0, and the other rows score what their boxes and
scores earn against those."""
import copy
import json
import sys

import pytest
import torch

from tests.conftest import ROOT
from tests.utils import load_tool
from ._dfine_utils import BCCD, build, tiny_cfg

pytestmark = pytest.mark.skipif(
    not (BCCD / 'coco' / 'val.json').is_file(),
    reason=f'BCCD not found at {BCCD}')

eval_layers = load_tool('tools/analysis/eval_dfine_layers.py')
test_tool = load_tool('tools/test.py', 'mmkd_tools_test')

NUM_IMAGES, NUM_GT = 4, 20


def _setup(tmp_path, fdr: bool):
    """Config file, checkpoint and config of a tiny model whose own top
    detections are the ground truth of 4 BCCD validation images."""
    cfg = tiny_cfg(fdr=fdr, num_queries=30)
    root = str(BCCD.resolve()) + '/'
    val = json.loads((BCCD / 'coco' / 'val.json').read_text())
    images = val['images'][:NUM_IMAGES]
    ids = {im['id'] for im in images}
    ann = dict(
        images=images,
        categories=val['categories'],
        annotations=[a for a in val['annotations'] if a['image_id'] in ids])
    ann_file = tmp_path / 'ann.json'
    ann_file.write_text(json.dumps(ann))
    for split in ('val', 'test'):
        cfg[f'{split}_dataloader'].dataset.data_root = root
        cfg[f'{split}_dataloader'].dataset.ann_file = str(ann_file)
        cfg[f'{split}_evaluator'].ann_file = str(ann_file)
    cfg.train_dataloader.dataset.data_root = root
    torch.manual_seed(0)
    model = build(copy.deepcopy(cfg))
    if fdr:
        # layer 0's FDR branch stays zero (its boxes are the pre boxes);
        # layers 1 and 2 move their boxes away from them
        for branch in model.bbox_head.reg_branches[1:3]:
            torch.nn.init.normal_(branch[-1].weight, std=0.05)
    ckpt = tmp_path / 'tiny.pth'
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), str(ckpt))

    from mmdet.registry import DATASETS
    from mmengine.dataset import pseudo_collate
    dataset = DATASETS.build(copy.deepcopy(cfg.test_dataloader.dataset))
    model.eval()
    with torch.no_grad():
        samples = model.test_step(
            pseudo_collate([dataset[i] for i in range(len(dataset))]))
    cat_ids = {c['name']: c['id'] for c in val['categories']}
    classes = dataset.metainfo['classes']
    # COCO ranks detections over all images: the ground truth is every
    # detection above one score threshold, so all of them rank first
    threshold = torch.cat([s.pred_instances.scores
                           for s in samples]).topk(NUM_GT).values[-1]
    ann['annotations'] = []
    for sample in samples:
        pred = sample.pred_instances
        keep = pred.scores >= threshold
        for box, label in zip(pred.bboxes[keep].tolist(),
                              pred.labels[keep].tolist()):
            x1, y1, x2, y2 = box
            ann['annotations'].append(
                dict(
                    id=len(ann['annotations']) + 1,
                    image_id=sample.img_id,
                    category_id=cat_ids[classes[label]],
                    bbox=[x1, y1, x2 - x1, y2 - y1],
                    area=(x2 - x1) * (y2 - y1),
                    iscrowd=0))
    assert len(ann['annotations']) == NUM_GT
    ann_file.write_text(json.dumps(ann))
    config = tmp_path / 'cfg.py'
    cfg.dump(str(config))
    return config, ckpt


def _tools_test_metrics(config, ckpt, work_dir, monkeypatch):
    """What tools/test.py logs for the checkpoint (run in this process)."""
    monkeypatch.setattr(
        sys, 'argv',
        ['test.py',
         str(config),
         str(ckpt), '--work-dir',
         str(work_dir)])
    test_tool.main()
    lines = [
        json.loads(line) for p in work_dir.rglob('*.json')
        for line in p.read_text().splitlines() if 'coco/bbox_mAP' in line
    ]
    assert len(lines) == 1, lines
    return {k: v for k, v in lines[0].items() if k.startswith('coco/')}


@pytest.mark.parametrize('fdr', [True, False], ids=['dino-fdr', 'dino'])
def test_rows_per_layer_and_last_equals_tools_test(tmp_path, monkeypatch, fdr):
    config, ckpt = _setup(tmp_path, fdr)
    out = tmp_path / 'layers.json'
    rows = eval_layers.main([str(config), str(ckpt), '--out', str(out)])
    names = [r['output'] for r in rows]
    assert names == (['enc', 'pre'] if fdr else ['enc']) + ['d0', 'd1', 'd2']
    assert json.loads(out.read_text())['rows'] == rows
    by_name = {r['output']: r for r in rows}
    last = by_name['d2']
    # the last layer's boxes are the ground truth: every IoU threshold hits
    assert (last['AP'], last['AP50'], last['AP75']) == (1.0, 1.0, 1.0)
    assert (last['R50'], last['R75']) == (1.0, 1.0)
    assert all(0 <= r['R75'] <= r['R50'] <= 1 for r in rows)
    if fdr:  # tools/test.py's predictions of DINO are mmdet's (and 4 s)
        expect = _tools_test_metrics(config, ckpt, tmp_path / 'work',
                                     monkeypatch)
        assert last['metrics'] == expect
    # the encoder proposals are other boxes: they miss most of them
    assert by_name['enc']['AP'] < 0.5
    if fdr:
        # zero layer-0 branch: layer 0's boxes are the pre boxes, and without
        # LQE its scores are the pre head's (the same class branch)
        assert by_name['pre']['metrics'] == by_name['d0']['metrics']
        assert by_name['d0']['AP'] < last['AP']
        # layer 1's row is what the same weights predict with 2 layers
        truncated = _truncate(config, ckpt, tmp_path, num_layers=2)
        rows2 = eval_layers.evaluate_layers(*truncated)
        assert [r['output'] for r in rows2] == ['enc', 'pre', 'd0', 'd1']
        assert [r['metrics']
                for r in rows2] == [r['metrics'] for r in rows[:4]]


def _truncate(config, ckpt, tmp_path, num_layers):
    """The config and checkpoint of the first ``num_layers`` decoder layers
    (the encoder's branches move to index ``num_layers``)."""
    from mmengine.config import Config
    cfg = Config.fromfile(str(config))
    full = cfg.model.decoder.num_layers
    cfg.model.decoder.num_layers = num_layers
    state = torch.load(str(ckpt))['state_dict']
    kept = {}
    for key, value in state.items():
        parts = key.split('.')
        if parts[:2] == ['decoder', 'layers'] and int(parts[2]) >= num_layers:
            continue
        if parts[:2] == ['bbox_head', 'cls_branches'
                         ] or parts[:2] == ['bbox_head', 'reg_branches']:
            index = int(parts[2])
            if num_layers <= index < full:
                continue
            if index == full:
                parts[2] = str(num_layers)
        kept['.'.join(parts)] = value
    path = tmp_path / 'truncated.pth'
    torch.save(dict(state_dict=kept, meta=dict()), str(path))
    return cfg, str(path)


def test_rejects_a_model_without_dino_layers(tmp_path):
    from mmengine.config import Config
    cfg = Config.fromfile(
        str(ROOT / 'configs' / 'dfine' /
            'dfine_deformable-detr-refine_r50_16xb2-50e_coco.py'))
    with pytest.raises(TypeError, match='DINO'):
        eval_layers.build(cfg, str(tmp_path / 'none.pth'), 'val')


def test_gt_recall_by_hand():
    """One GT covered exactly, one at IoU 0.6, an image without GT, and
    an image without kept boxes."""
    from mmengine.structures import InstanceData
    gt = torch.tensor([[0., 0., 10., 10.], [10., 10., 20., 20.]])
    result = InstanceData(
        bboxes=torch.tensor([[0., 0., 10., 10.], [10., 10., 20., 16.]]))
    nothing = InstanceData(bboxes=torch.zeros(0, 4))
    assert eval_layers._gt_recall([gt, torch.zeros(0, 4)],
                                  [result, nothing]) == [[2, 2], [1, 2]]
    assert eval_layers._gt_recall([gt], [nothing]) == [[0, 2], [0, 2]]
