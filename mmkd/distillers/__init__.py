from .builder import model_config
from .comparison import (ComparisonDistributedDataParallel,
                         ComparisonOptimWrapperConstructor, ComparisonValLoop,
                         DistillComparison)
from .connectors import ChannelAlignConnector, SpatialAlignConnector
from .distiller import Distiller
from .health import LossBalance, gradient_health
from .inherit import inherit_from_teacher
from .taps import FeatureTaps, Tap

__all__ = [
    'Distiller', 'FeatureTaps', 'Tap', 'ChannelAlignConnector',
    'SpatialAlignConnector', 'inherit_from_teacher', 'DistillComparison',
    'ComparisonOptimWrapperConstructor', 'ComparisonValLoop',
    'ComparisonDistributedDataParallel', 'model_config', 'LossBalance',
    'gradient_health'
]
