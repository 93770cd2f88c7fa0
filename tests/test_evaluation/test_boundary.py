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
    # Region IoU barely moves, boundary IoU drops a lot.
    assert res['mIoU'] > 85 and res['mBIoU'] < 40
