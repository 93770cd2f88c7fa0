import torch

from mmkd.evaluation import SegBoundaryMetricAccumulator, class_boundary


def test_class_boundary_step():
    labels = torch.zeros(4, 12, dtype=torch.long)
    labels[:, 6:] = 1
    assert torch.nonzero(class_boundary(labels, 0, 2)[0])[:, 0].tolist() \
        == [4, 5]
    assert torch.nonzero(class_boundary(labels, 1, 2)[0])[:, 0].tolist() \
        == [6, 7]


def test_ignore_makes_no_boundary():
    gt = torch.zeros(4, 12, dtype=torch.long)
    gt[:, 6:] = 255
    valid = gt != 255
    assert class_boundary(gt, 0, 2, valid).sum() == 0


def test_accumulator_perfect_and_shifted():
    gt = torch.zeros(16, 16, dtype=torch.long)
    gt[:, 8:] = 1
    gt[0, 0] = 255
    acc = SegBoundaryMetricAccumulator(2, dilation=1)
    acc.update(gt.clamp(max=1), gt)
    res = acc.results()
    assert res['mIoU'] == 100.0 and res['mBIoU'] == 100.0
    shifted = torch.zeros(16, 16, dtype=torch.long)
    shifted[:, 9:] = 1
    acc = SegBoundaryMetricAccumulator(2, dilation=1)
    acc.update(shifted, gt)
    res = acc.results()
    # Region IoU barely moves: class 0 is 127 / 143 valid pixels ((0, 0) is
    # ignore), class 1 is 112 / 128. The boundaries (column 7 | 8 in the
    # ground truth, 8 | 9 in the prediction) do not overlap at all.
    assert res['IoU'] == [round(100 * 127 / 143, 2), 87.5]
    assert res['mIoU'] == round(50 * (127 / 143 + 112 / 128), 2)
    assert res['BIoU'] == [0.0, 0.0] and res['mBIoU'] == 0.0
    # d = 2: columns 6-7 vs 7-8 (class 0), 8-9 vs 9-10 (class 1), so each
    # boundary overlaps in one column of three.
    acc = SegBoundaryMetricAccumulator(2, dilation=2)
    acc.update(shifted, gt)
    assert acc.results()['BIoU'] == [33.33, 33.33]
