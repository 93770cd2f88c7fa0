from .cwd import ChannelWiseDivergence, channel_wise_divergence

__all__ = ['ChannelWiseDivergence', 'channel_wise_divergence']
