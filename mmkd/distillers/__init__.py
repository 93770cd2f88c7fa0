from .connectors import ChannelAlignConnector, SpatialAlignConnector
from .distiller import Distiller
from .taps import FeatureTaps, Tap

__all__ = [
    'Distiller', 'FeatureTaps', 'Tap', 'ChannelAlignConnector',
    'SpatialAlignConnector'
]
