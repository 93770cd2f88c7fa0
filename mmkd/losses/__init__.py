from .bpkd import BPKDLoss, bpkd_body_loss, bpkd_edge_loss
from .cwd import ChannelWiseDivergence, channel_wise_divergence

__all__ = [
    'BPKDLoss', 'bpkd_body_loss', 'bpkd_edge_loss', 'ChannelWiseDivergence',
    'channel_wise_divergence'
]
