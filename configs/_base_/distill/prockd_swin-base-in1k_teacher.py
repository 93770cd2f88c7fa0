# The teacher of the configs/prockd/ COCO and Cityscapes configs: MMPretrain's
# ImageNet-1k Swin-B (swin-base_16xb64_in1k, 83.36 top-1, 224 px), a model of
# another library and another label space. ProC-KD reads stages 2-4 (out
# indices 1-3: 256, 512, 1024 channels at strides 8, 16, 32); the classifier
# (neck and head) is removed, it is never used. The teacher keeps its own
# normalisation (preprocessing='own') and takes the student's batch at the
# student's resolution (Swin pads to its windows). strict=False: the ImageNet
# checkpoint holds only the last stage's output norm (norm3); the norms of
# stages 2 and 3 keep their identity initialisation, as when MMDetection
# fine-tunes a Swin backbone from this checkpoint. The normalisation is the
# config's top-level data_preprocessor (MMPretrain keeps it beside the model
# dict), which mmkd inserts as mmengine's Runner does.
custom_imports = dict(imports=['mmkd'], allow_failed_imports=False)
swin_ckpt = 'https://download.openmmlab.com/mmclassification/v0/swin-transformer/swin_base_224_b16x64_300e_imagenet_20210616_190742-93230b0d.pth'  # noqa: E501
model = dict(
    type='mmkd.Distiller',
    teacher=dict(
        config='mmpretrain::swin_transformer/swin-base_16xb64_in1k.py',
        model=dict(
            # pad_small_map: stage maps smaller than a window (small images)
            # are padded instead of refused; no effect at 512 px and above.
            backbone=dict(out_indices=(1, 2, 3), pad_small_map=True),
            neck=None,
            head=None),
        checkpoint=swin_ckpt,
        preprocessing='own',
        strict=False))

# Logs each distillation term's gradient against the task loss's and warns
# when distillation hurts (docs/health.md).
custom_hooks = [dict(type='mmkd.DistillHealthHook', interval=50)]
