# Teacher of the BCCD round-2 pair: the round-1 student's RetinaNet-R18-FPN
# (from scratch, 224 px) trained twice as long, 24 epochs.
#   python tools/train.py configs/acam/retinanet_r18_fpn_1xb4-24e_bccd.py
_base_ = [
    './retinanet_r18_fpn_1xb4-12e_bccd.py',
    '../_base_/schedules/schedule_24e_det_cpu.py'
]
default_hooks = dict(checkpoint=dict(interval=24, max_keep_ckpts=1))
