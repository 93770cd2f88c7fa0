from mmkd.registry import installed
from .acam import ACAMKDLoss, acam_masked_losses, mask_dice
from .bpkd import BPKDLoss, bpkd_body_loss, bpkd_edge_loss
from .cwd import ChannelWiseDivergence, channel_wise_divergence
from .frs import FRSLoss, frs_losses
from .g2sd import (DeiTHardDistillLoss, G2SDFeatLoss, g2sd_feature_loss,
                   token_weights)
from .multi_level import MultiLevelLoss
from .prockd import ProCKDLoss, logit_transfer
from .prockd_modules import (ProCKDStudent, PrototypeLearning,
                             TaskAdaptiveAugment)

__all__ = [
    'ACAMKDLoss', 'acam_masked_losses', 'mask_dice', 'BPKDLoss',
    'bpkd_body_loss', 'bpkd_edge_loss', 'ChannelWiseDivergence',
    'channel_wise_divergence', 'MultiLevelLoss', 'ProCKDLoss',
    'logit_transfer', 'PrototypeLearning', 'ProCKDStudent',
    'TaskAdaptiveAugment', 'G2SDFeatLoss', 'g2sd_feature_loss',
    'token_weights', 'DeiTHardDistillLoss', 'FRSLoss', 'frs_losses'
]

if installed('mmpretrain'):  # an MMPretrain teacher at its own input size
    from .prockd_teacher import ResizedInputClassifier
    __all__ += ['ResizedInputClassifier']
