# The CamVid teacher of configs/cwd/ at half resolution (120x90, crop
# 88x112; configs/_base_/datasets/camvid_120x90.py): PSPNet-R18-D8 from
# scratch. Round 5 of docs/experiments/camvid.md trains it 5,000 iterations:
#   python tools/train.py configs/cwd/pspnet_r18-d8_1xb4-1k_camvid-120x90.py \
#     --cfg-options train_cfg.max_iters=5000 param_scheduler.0.end=5000
_base_ = [
    '../_base_/models/pspnet_r18-d8_scratch.py',
    '../_base_/datasets/camvid_120x90.py',
    'mmseg::_base_/default_runtime.py',
    '../_base_/schedules/schedule_1k_cpu.py',
]
custom_imports = dict(imports=['mmkd'], allow_failed_imports=False)
model = dict(data_preprocessor=dict(size=(88, 112)))  # the crop size
train_dataloader = dict(batch_size=4)
