"""ACAM-KD's trainable units under DDP (two gloo processes on the CPU):
without find_unused_parameters every unit must be in the graph each step,
and both ranks must end with the same student and the same units."""
import torch

from tests.test_tools.test_ddp import train_two_processes

ACAM = {
    'model.losses.loss_acam.type': 'mmkd.ACAMKDLoss',
    'model.losses.loss_acam.student': 'decode_head.conv_seg',
    'model.losses.loss_acam.teacher': 'decode_head.conv_seg',
    'model.losses.loss_acam.student_channels': 4,
    'model.losses.loss_acam.teacher_channels': 4,
    'model.losses.loss_acam.num_masks': 4,
    # A6/A7 switches that leave m_c out of every term but the zero path
    'model.losses.loss_acam.detach_masks_in_loss': True,
    'model.losses.loss_acam.dice_on': 'spatial',
}


def test_two_process_gloo_training_with_acam(tmp_path):
    log = train_two_processes(tmp_path, ACAM)
    assert 'distill.loss_acam_distill' in log and 'Iter(train) [2/2]' in log
    assert 'distill.loss_acam_l0_mask_s_mean' in log, log[-4000:]
    for rank in (0, 1):
        units = torch.load(tmp_path / f'rank{rank}_losses.pth')
        assert any('m_s' in k for k in units), sorted(units)
    rank0 = torch.load(tmp_path / 'rank0_losses.pth')
    rank1 = torch.load(tmp_path / 'rank1_losses.pth')
    for key in rank0:
        assert torch.equal(rank0[key], rank1[key]), key
