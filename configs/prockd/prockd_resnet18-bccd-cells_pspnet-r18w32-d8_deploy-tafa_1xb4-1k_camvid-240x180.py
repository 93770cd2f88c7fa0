# The CamVid ProC-KD pair with deploy_tafa=True (spec P4, as the official
# code): the prototype bank and TAFA belong to the student
# (mmkd.ProCKDStudent), augment its decode-head input in training and at
# inference, and stay in the exported checkpoint. The exported config (from
# tools/export_student.py --config) runs under MMSegmentation's own
# tools/test.py with mmkd importable.
_base_ = [
    './prockd_resnet18-bccd-cells_pspnet-r18w32-d8_1xb4-1k_camvid-240x180.py'
]
model = dict(
    student=dict(
        config=None,  # the student is the wrapper, around the same student
        model=dict(
            type='mmkd.ProCKDStudent',
            model=dict(
                config='mmkd::cwd/pspnet_r18w32-d8_1xb4-1k_camvid-240x180.py'),
            site='backbone',
            level=3,
            channels=256,
            num_prototypes=72)),
    losses=dict(loss_prockd=dict(student='model.backbone', deploy_tafa=True)))
