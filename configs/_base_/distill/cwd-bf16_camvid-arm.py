# The bf16-teacher arm of the CamVid comparisons (configs/comparison/): the
# CamVid PSPNet-R18-D8 teacher again, its weights cast once to bfloat16, as
# a second teacher named 'bf16', and the CWD loss of configs/cwd/ on it. A
# comparison adds them under its own names:
#   model = dict(teachers=dict(bf16={{_base_.bf16_teacher}}),
#                arms=dict(cwd_bf16={{_base_.cwd_bf16_arm}}))
# and is run with model.teachers.bf16.checkpoint set to the same checkpoint
# as model.teacher.checkpoint.
bf16_teacher = dict(
    config='mmkd::cwd/pspnet_r18-d8_1xb4-1k_camvid-240x180.py',
    checkpoint='work_dirs/pspnet_r18-d8_1xb4-1k_camvid-240x180/iter_1000.pth',
    precision='bf16')
cwd_bf16_arm = dict(
    losses=dict(
        loss_cwd=dict(
            type='mmkd.ChannelWiseDivergence',
            student='decode_head.conv_seg',
            teacher='bf16:decode_head.conv_seg',
            tau=1.0,
            loss_weight=5.0)))
