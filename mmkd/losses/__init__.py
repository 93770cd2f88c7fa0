from mmkd.registry import installed
from .acam import ACAMKDLoss, acam_masked_losses, mask_dice
from .bpkd import BPKDLoss, bpkd_body_loss, bpkd_edge_loss
from .cwd import ChannelWiseDivergence, channel_wise_divergence
from .multi_level import MultiLevelLoss
from .prockd import ProCKDLoss, logit_transfer
from .prockd_modules import (ProCKDStudent, PrototypeLearning,
                             TaskAdaptiveAugment)

__all__ = [
    'ACAMKDLoss', 'acam_masked_losses', 'mask_dice', 'BPKDLoss',
    'bpkd_body_loss', 'bpkd_edge_loss', 'ChannelWiseDivergence',
    'channel_wise_divergence', 'MultiLevelLoss', 'ProCKDLoss',
    'logit_transfer', 'PrototypeLearning', 'ProCKDStudent',
    'TaskAdaptiveAugment'
]

if installed('mmpretrain'):  # an MMPretrain teacher at its own input size
    from .prockd_teacher import ResizedInputClassifier
    __all__ += ['ResizedInputClassifier']
