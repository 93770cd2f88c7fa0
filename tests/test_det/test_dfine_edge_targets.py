"""tools/analysis/dfine_edge_targets.py: where FGL's edge targets fall in
the FDR bins (the share out of range, within the finest bin, quantiles)."""
import pytest
import torch

from tests.utils import det_batch, load_tool
from ._dfine_utils import BCCD, build, tiny_cfg

tool = load_tool('tools/analysis/dfine_edge_targets.py')


def test_summary_by_hand():
    # reg_max 32, up 0.5, reg_scale 4: W(N) = 4 code units = 1 box size,
    # the finest bins either side of 0 end at W(17) = 0.0761
    head = build(tiny_cfg()).bbox_head
    recorder = tool.EdgeTargetRecorder(head)
    recorder.offsets = [torch.tensor([0.0, 0.1, 4.0, -5.0])]
    out = recorder.summary()
    assert out['edges'] == 4
    assert out['out_of_range'] == 0.5  # 4.0 and -5.0
    assert out['within_finest_bin'] == 0.25  # 0.0 only
    assert out['range_box_sizes'] == 1.0
    # |d| / R = [0, 0.025, 1, 1.25]: the median interpolates 0.025 and 1
    assert out['abs_offset_q50'] == pytest.approx(0.5125)


def test_records_the_matching_queries_not_the_denoising_ones():
    torch.manual_seed(0)
    model = build(tiny_cfg(num_queries=30)).train()
    head = model.bbox_head
    recorder = tool.EdgeTargetRecorder(head)
    calls, recorded = [], head._fgl_targets

    def spy(ref0, assign, gt):
        calls.append((ref0.shape[1], int((assign >= 0).sum())))
        return recorded(ref0, assign, gt)

    head._fgl_targets = spy
    batch = det_batch(num_boxes=(3, 2))
    with torch.no_grad():
        model(**model.data_preprocessor(batch, True), mode='loss')
    # one call for the 30 matching queries (union set), one for denoising
    assert [q for q, _ in calls] == [30, calls[1][0]] and calls[1][0] != 30
    assert 5 <= calls[0][1] <= 30  # every GT matched at least once
    assert sum(len(o) for o in recorder.offsets) == 4 * calls[0][1]


@pytest.mark.skipif(
    not (BCCD / 'coco' / 'train.json').is_file(),
    reason=f'BCCD not found at {BCCD}')
def test_initialised_model_on_bccd(tmp_path):
    cfg = tiny_cfg()
    cfg.train_dataloader.dataset.data_root = str(BCCD.resolve()) + '/'
    summary = tool.edge_targets(cfg, None, batches=1, seed=0)
    assert summary['edges'] > 0 and summary['edges'] % 4 == 0
    assert 0.0 <= summary['out_of_range'] <= 1.0
    assert summary['abs_offset_q50'] <= summary['abs_offset_q90'] \
        <= summary['abs_offset_q99']
