# Round 5 of the CamVid tables (docs/comparison.md): round 4's six arms
# (plain, CWD, BPKD clipped, ACAM-KD, ProC-KD from the BCCD-cells
# classifier, CWD from the teacher in bf16) at half the resolution
# (configs/_base_/datasets/camvid_120x90.py) on a 3,000-iteration schedule
# (validated every 500), so that the teacher (5,000 iterations) and both
# seeds train within one working session on a 2-core CPU. Teacher and
# student are the 120x90 configs of configs/cwd/:
#   python tools/train.py configs/cwd/pspnet_r18-d8_1xb4-1k_camvid-120x90.py \
#     --cfg-options train_cfg.max_iters=5000 param_scheduler.0.end=5000
#   python tools/train.py configs/comparison/comparison_pspnet-r18-d8_pspnet-r18w32-d8_plain-cwd-bpkd-acam-prockd-cwdbf16_1xb4-3k_camvid-120x90.py \
#     --cfg-options randomness.seed=0 model.teacher.checkpoint=T \
#       model.teachers.bf16.checkpoint=T model.teachers.cells.checkpoint=C
_base_ = [
    './comparison_pspnet-r18-d8_pspnet-r18w32-d8_plain-cwd-bpkd-acam-prockd-cwdbf16_1xb4-4k_camvid-240x180.py'  # noqa: E501
]
param_scheduler = [
    dict(
        type='PolyLR',
        eta_min=1e-4,
        power=0.9,
        begin=0,
        end=3000,
        by_epoch=False)
]
train_cfg = dict(max_iters=3000)
teacher_config = 'mmkd::cwd/pspnet_r18-d8_1xb4-1k_camvid-120x90.py'
model = dict(
    student=dict(config='mmkd::cwd/pspnet_r18w32-d8_1xb4-1k_camvid-120x90.py'),
    teacher=dict(config=teacher_config),
    teachers=dict(bf16=dict(config=teacher_config)))
# the pipelines of configs/_base_/datasets/camvid_120x90.py (a comparison
# inherits its arms from the 240x180 config, whose dataset base it cannot
# list beside that of 120x90)
crop_size = (88, 112)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(
        type='RandomResize',
        scale=(120, 90),
        ratio_range=(0.75, 1.5),
        keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(120, 90), keep_ratio=True),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
