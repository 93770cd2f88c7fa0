"""ProC-KD under DDP (two gloo processes on the CPU): the student's head
runs twice in a step (its own loss and the teacher path) and every part of
PLM, TAFA and the bank must be in the graph without find_unused_parameters;
both ranks end with the same student and the same parts."""
import torch

from tests.test_tools.test_ddp import train_two_processes

PREFIX = 'model.losses.loss_prockd.'
PROCKD = {
    PREFIX + 'type': 'mmkd.ProCKDLoss',
    PREFIX + 'student': 'backbone',
    PREFIX + 'teacher': 'backbone',
    PREFIX + 'student_level': 4,  # the FCN head's in_index
    PREFIX + 'student_channels': 8,
    PREFIX + 'teacher_layers': '[2,3]',
    PREFIX + 'teacher_channels': '[64,32]',
    PREFIX + 'num_prototypes': 8,
    PREFIX + 'logits_module': 'decode_head.conv_seg',
}


def test_two_process_gloo_training_with_prockd(tmp_path):
    log = train_two_processes(tmp_path, PROCKD)
    assert 'distill.loss_prockd_aug_ce' in log and 'Iter(train) [2/2]' in log
    rank0 = torch.load(tmp_path / 'rank0_losses.pth')
    rank1 = torch.load(tmp_path / 'rank1_losses.pth')
    assert any('tafa.prototypes' in k for k in rank0), sorted(rank0)
    for key in rank0:
        assert torch.equal(rank0[key], rank1[key]), key
    student0 = torch.load(tmp_path / 'rank0.pth')
    student1 = torch.load(tmp_path / 'rank1.pth')
    for key in student0:
        assert torch.equal(student0[key], student1[key]), key
