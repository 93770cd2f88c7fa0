# The ProC-KD arm of the CamVid comparisons (configs/comparison/): the
# cross-task ResNet-18 BCCD-cells classifier as a second teacher named
# 'cells', and the loss of configs/prockd/'s CamVid config on it
# (deploy_tafa=False). A comparison adds them under its own names:
#   model = dict(teachers=dict(cells={{_base_.cells_teacher}}),
#                arms=dict(prockd={{_base_.prockd_arm}}))
cells_ckpt = 'work_dirs/resnet18_1xb64-30e_bccd-cells-60px/epoch_30.pth'
cells_teacher = dict(
    config='mmkd::prockd/resnet18_1xb64-30e_bccd-cells-60px.py',
    model=dict(backbone=dict(out_indices=(1, 2, 3)), neck=None, head=None),
    checkpoint=cells_ckpt,
    preprocessing='own')
prockd_arm = dict(
    losses=dict(
        loss_prockd=dict(
            type='mmkd.ProCKDLoss',
            student='backbone',
            teacher='cells:backbone',
            student_level=3,
            student_channels=256,
            teacher_channels=[128, 256, 512],
            num_prototypes=72,
            gamma=1.0,
            logits_module='decode_head.conv_seg')))
