# Teacher of the CamVid CWD trio: PSPNet-R18-D8 from scratch, 1k iterations.
#   python tools/train.py configs/cwd/pspnet_r18-d8_1xb4-1k_camvid-240x180.py
_base_ = [
    '../_base_/models/pspnet_r18-d8_scratch.py',
    '../_base_/datasets/camvid_240x180.py',
    'mmseg::_base_/default_runtime.py',
    '../_base_/schedules/schedule_1k_cpu.py',
]
custom_imports = dict(imports=['mmkd'], allow_failed_imports=False)
model = dict(data_preprocessor=dict(size=(176, 224)))  # the crop size
train_dataloader = dict(batch_size=4)
