# ProC-KD at CPU scale, segmentation, cross-task: an MMPretrain ResNet-18
# trained here on BCCD blood-cell crops (3 classes; no street class) teaches
# the half-width PSPNet-R18-D8 on CamVid (11 classes): the student and
# schedule of the CWD trio (configs/cwd/pspnet_r18w32-d8_1xb4-1k_camvid-
# 240x180.py, 1k iterations), so ProC-KD's cross-task teacher compares with
# CWD's same-task PSPNet-R18-D8 teacher on one student.
# Tokens: the decode head's input, backbone stage 4 (in_index 3, 256
# channels, stride 8); teacher stages 2-4 resampled to that grid; K = 72;
# transfer: pixel-wise KL of the decode head's logits. deploy_tafa=False: the
# exported student is a plain PSPNet. Train the teacher first:
#   python tools/dataset_converters/classification_crops.py bccd \
#       ../shared/data/bccd data/bccd_cells
#   python tools/train.py configs/prockd/resnet18_1xb64-30e_bccd-cells-60px.py
#   python tools/train.py configs/prockd/prockd_resnet18-bccd-cells_pspnet-r18w32-d8_1xb4-1k_camvid-240x180.py
_base_ = [
    '../_base_/datasets/camvid_240x180.py',
    'mmseg::_base_/default_runtime.py',
    '../_base_/schedules/schedule_1k_cpu.py',
]
custom_imports = dict(imports=['mmkd'], allow_failed_imports=False)
train_dataloader = dict(batch_size=4)
teacher_ckpt = 'work_dirs/resnet18_1xb64-30e_bccd-cells-60px/epoch_30.pth'
model = dict(
    type='mmkd.Distiller',
    student=dict(
        config='mmkd::cwd/pspnet_r18w32-d8_1xb4-1k_camvid-240x180.py'),
    teacher=dict(
        config='mmkd::prockd/resnet18_1xb64-30e_bccd-cells-60px.py',
        model=dict(backbone=dict(out_indices=(1, 2, 3)), neck=None, head=None),
        checkpoint=teacher_ckpt,
        preprocessing='own'),
    losses=dict(
        loss_prockd=dict(
            type='mmkd.ProCKDLoss',
            student='backbone',
            teacher='backbone',
            student_level=3,
            student_channels=256,
            teacher_channels=[128, 256, 512],
            num_prototypes=72,
            gamma=1.0,
            logits_module='decode_head.conv_seg')))

# Logs each distillation term's gradient against the task loss's and warns
# when distillation hurts (docs/health.md).
custom_hooks = [dict(type='mmkd.DistillHealthHook', interval=50)]
