# Round 7 of the CamVid tables (docs/experiments/camvid.md): round 6's pair,
# data and schedule (the eighth-width student, 8 base channels, taught by
# the PSPNet-R18-D8 teacher of 5,000 iterations, CamVid at 120x90) with the
# BPKD and ACAM-KD readings of configs/_base_/distill/
# bpkd-acam-variants_camvid-arms.py beside the plain student and CWD (each
# DistillHealthHook-logged, as in round 6).
#   python tools/train.py configs/cwd/pspnet_r18-d8_1xb4-1k_camvid-120x90.py \
#     --cfg-options train_cfg.max_iters=5000 param_scheduler.0.end=5000
#   python tools/train.py configs/comparison/comparison_pspnet-r18-d8_pspnet-r18w8-d8_bpkd-acam-variants_1xb4-12k_camvid-120x90.py \
#     --cfg-options randomness.seed=0 model.teacher.checkpoint=T
_base_ = [
    './comparison_pspnet-r18-d8_pspnet-r18w8-d8_plain-cwd-bpkd_1xb4-12k_camvid-120x90.py',  # noqa: E501
    '../_base_/distill/bpkd-acam-variants_camvid-arms.py',
]
custom_imports = dict(
    imports=['mmkd', 'mmdet.models.losses'], allow_failed_imports=False)
model = dict(arms={{_base_.bpkd_acam_variant_arms}})
optim_wrapper = dict(arms={{_base_.bpkd_acam_variant_optim_arms}})
