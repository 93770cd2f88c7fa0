from .builder import model_config
from .comparison import (ComparisonOptimWrapperConstructor, ComparisonValLoop,
                         DistillComparison)
from .connectors import ChannelAlignConnector, SpatialAlignConnector
from .distiller import Distiller
from .inherit import inherit_from_teacher
from .taps import FeatureTaps, Tap

__all__ = [
    'Distiller', 'FeatureTaps', 'Tap', 'ChannelAlignConnector',
    'SpatialAlignConnector', 'inherit_from_teacher', 'DistillComparison',
    'ComparisonOptimWrapperConstructor', 'ComparisonValLoop', 'model_config'
]
