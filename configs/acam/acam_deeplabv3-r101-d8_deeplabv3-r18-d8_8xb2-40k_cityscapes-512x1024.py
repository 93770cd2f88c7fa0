# ACAM-KD (Lan & Tian, ICCV 2025, arXiv 2503.06307) on Cityscapes:
# DeepLabV3-R101-D8 (mmseg 80k, 80.20 mIoU) teaches DeepLabV3-R18-D8 on the
# logits (decode_head.conv_seg: C = 19, M = 19 masks, C_q = 9, 64 x 128 at 512
# x 1024 crops). Schedule of the paper: 40k iterations, 8 GPUs x 2 crops, SGD
# lr 0.02, wd 5e-4, poly 0.9 to 1e-4. The paper trained in the CIRKD code base
# with its own baselines (teacher 78.07, DeepLabV3-R18 72.96); MMSegmentation's
# models and baselines differ, so absolute numbers will not transfer.
_base_ = [
    'mmseg::_base_/datasets/cityscapes.py',
    'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_40k.py',
]
custom_imports = dict(imports=['mmkd'], allow_failed_imports=False)
train_dataloader = dict(batch_size=2)
optim_wrapper = dict(optimizer=dict(lr=0.02))
teacher_ckpt = 'https://download.openmmlab.com/mmsegmentation/v0.5/deeplabv3/deeplabv3_r101-d8_512x1024_80k_cityscapes/deeplabv3_r101-d8_512x1024_80k_cityscapes_20200606_113503-9e428899.pth'  # noqa: E501
model = dict(
    type='mmkd.Distiller',
    student=dict(
        config='mmseg::deeplabv3/deeplabv3_r18-d8_4xb2-80k_cityscapes-512x1024.py'
    ),  # noqa: E501
    teacher=dict(
        config='mmseg::deeplabv3/deeplabv3_r101-d8_4xb2-80k_cityscapes-512x1024.py',  # noqa: E501
        checkpoint=teacher_ckpt),
    losses=dict(
        loss_acam=dict(
            type='mmkd.ACAMKDLoss',
            student='decode_head.conv_seg',
            teacher='decode_head.conv_seg',
            student_channels=19,
            teacher_channels=19,
            num_masks=19)))

# Logs each distillation term's gradient against the task loss's and warns
# when distillation hurts (docs/health.md).
custom_hooks = [dict(type='mmkd.DistillHealthHook', interval=50)]
