from .acam import ACAMKDLoss, acam_masked_losses, mask_dice
from .bpkd import BPKDLoss, bpkd_body_loss, bpkd_edge_loss
from .cwd import ChannelWiseDivergence, channel_wise_divergence
from .frs import FRSLoss, frs_losses
from .g2sd import (DeiTHardDistillLoss, G2SDFeatLoss, g2sd_feature_loss,
                   token_weights)

__all__ = [
    'ACAMKDLoss', 'acam_masked_losses', 'mask_dice', 'BPKDLoss',
    'bpkd_body_loss', 'bpkd_edge_loss', 'ChannelWiseDivergence',
    'channel_wise_divergence', 'G2SDFeatLoss', 'g2sd_feature_loss',
    'token_weights', 'DeiTHardDistillLoss', 'FRSLoss', 'frs_losses'
]
